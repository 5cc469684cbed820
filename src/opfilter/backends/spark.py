"""Query → a PySpark ``Column`` for ``DataFrame.filter`` (extra ``opfilter[spark]``;
SPEC §10), so the same API filter string runs on a Spark cluster.

Usage (``spark`` a ``SparkSession``, ``df`` a DataFrame with the schema's columns)::

    from opfilter import parse_query, to_spark
    df.filter(to_spark(parse_query("project_id=in:1,2&updated_at=gte:2024-01-01", SCHEMA)))

A renderer of :mod:`opfilter.lowering`.  Columns are named as the schema's columns
(``Filter.column``, quoted with backticks, so a dot is part of the name), of these
types: int ``bigint``, decimal ``decimal(p, s)``, date ``date``, datetime ``timestamp``,
string and enum ``string``, bool ``boolean``.

* **Instants, whatever the session time zone.**  A ``timestamp`` column is compared
  through ``unix_micros(col)`` with the operand's microseconds since the epoch, so
  ``spark.sql.session.timeZone`` plays no part.  (A ``timestamp_ntz`` column would be
  cast to ``timestamp`` *in the session time zone* by Spark: convert it first, e.g.
  ``to_utc_timestamp``, or set the session time zone to UTC.)
* **NULL (SPEC §2)** is written out: ``neq`` of one value is ``NOT (col <=> v)``
  (``eqNullSafe``), and every other condition is built never to be null (``col IS NOT
  NULL AND …`` around comparisons, ``col IS NULL OR …`` where NULL is accepted), so
  ``~to_spark(q)`` is the exact complement.
* **Decimals** are compared as Spark decimals with the operand's own precision and scale
  (exact, as long as the column's and the operand's digits together fit Spark's 38).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import TYPE_CHECKING, Any, assert_never

from pyspark.sql import Column
from pyspark.sql import functions as F

from ..lowering import Interval, Meaning, Member, Never, NotMember, Within, lower
from ..schema import Type

if TYPE_CHECKING:
    from ..query import Query

__all__ = ["column", "render", "to_spark"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def column(name: str, kind: Type) -> Column:
    """The column as compared: a ``timestamp`` as its UTC epoch microseconds."""
    col = F.col("`" + name.replace("`", "``") + "`")
    return F.unix_micros(col) if kind is Type.DATETIME else col


def _lit(v: Any, kind: Type) -> Column:
    if kind is Type.DATETIME:
        assert isinstance(v, datetime) and v.tzinfo is not None
        return F.lit((v - _EPOCH) // _US).cast("bigint")
    if kind is Type.INT:
        return F.lit(v).cast("bigint")
    if kind is Type.DATE:  # py4j's date literals fail before year 1000; make_date does not
        return F.make_date(F.lit(v.year), F.lit(v.month), F.lit(v.day))
    return F.lit(v)


def _and(parts: list[Column]) -> Column:
    return reduce(lambda x, y: x & y, parts)


def _or(parts: list[Column]) -> Column:
    return reduce(lambda x, y: x | y, parts)


def _interval(col: Column, i: Interval, kind: Type) -> Column:
    parts = [test(col, _lit(v, kind)) for test, v in i.comparisons()]
    return _and(parts) if parts else col.isNotNull()


def _any(col: Column, m: Member | NotMember, kind: Type) -> Column | None:
    """Whether a non-NULL value is one of ``m``'s points or inside one of its intervals."""
    parts: list[Column] = []
    if len(m.points) == 1:
        parts.append(col == _lit(m.points[0], kind))
    elif m.points:
        parts.append(col.isin(*(_lit(p, kind) for p in m.points)))
    parts += [_interval(col, i, kind) for i in m.intervals]
    return _or(parts) if parts else None


def render(meaning: Meaning, col: Column, kind: Type) -> Column:
    """One lowered condition → a boolean ``Column`` over ``col`` that is never null."""
    match meaning:
        case Member(null=null):
            hit = _any(col, meaning, kind)
            inside = None if hit is None else col.isNotNull() & hit
            if null:
                return col.isNull() if inside is None else col.isNull() | inside
            return F.lit(False) if inside is None else inside
        case NotMember(points=points, intervals=intervals, null=null):
            if not null and len(points) == 1 and not intervals:
                return ~col.eqNullSafe(_lit(points[0], kind))
            hit = _any(col, meaning, kind)
            if null:
                return col.isNotNull() if hit is None else col.isNotNull() & ~hit
            return F.lit(True) if hit is None else col.isNull() | ~hit
        case Within(interval=interval):
            return col.isNotNull() & _interval(col, interval, kind)
        case Never():
            return F.lit(False)
        case _:  # pragma: no cover
            assert_never(meaning)


def to_spark(query: Query) -> Column:
    """The conditions of ``query`` (filters and implied ones such as ``deleted``; never
    ``limit``/``offset``) as one boolean ``Column`` (``lit(True)`` for none)."""
    parts: list[Column] = []
    for c in query.all_conditions():
        f = query.schema.field(c.field)
        parts.append(render(lower(f, c).meaning, column(f.column, f.kind), f.kind))
    return _and(parts) if parts else F.lit(True)
