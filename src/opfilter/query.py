"""The :class:`Query` type: a validated query's conditions and plain parameters.

:func:`parse_query` (in :mod:`opfilter.parsequery`) builds one from user input; it is
re-exported here, so ``opfilter.query.parse_query`` keeps working.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from .errors import InvalidQuery
from .inputs import QueryInput
from .nodes import Condition
from .values import to_utc

if TYPE_CHECKING:
    from .schema import Schema

__all__ = ["Query", "QueryInput", "parse_query"]


class Query:
    """A validated query: filter conditions (in parameter order) and plain parameters
    (defaults filled in).  Immutable.  Two queries are equal exactly when their canonical
    query strings are equal.  Built by hand, it keeps each datetime operand as its UTC
    instant (a naive one taken as UTC), as :func:`parse_query` reads its canonical
    string."""

    __slots__ = ("_canonical", "_ignored", "conditions", "params", "schema")

    schema: Schema
    conditions: tuple[Condition, ...]
    params: Mapping[str, int | str]
    _canonical: str | None
    _ignored: tuple[dict[str, str], ...]

    def __init__(
        self,
        schema: Schema,
        conditions: Iterable[Condition] = (),
        params: Mapping[str, int | str] | None = None,
    ) -> None:
        if params:
            unknown = set(params) - set(schema.defaults)
            if unknown:
                raise ValueError(f"not plain parameters of this schema: {sorted(unknown)}")
        conds = tuple(conditions)
        for c in conds:
            if c.field not in schema.filter_by_name:
                raise ValueError(f"{c.field!r} is not a filter field of this schema")
        # the checks parse_query makes: the parser reads back each value as written
        failures = hand_built_failures(schema, conds, params or {})
        if failures:
            raise InvalidQuery(failures)
        self._fill(schema, map(_utc_operands, conds), params)
        # the whole canonical string must fit too, as parse_query would read it back
        length = len(self.canonical)
        if length > schema.max_query_length:
            raise query_too_long(schema, length)

    @classmethod
    def _checked(
        cls,
        schema: Schema,
        conditions: Iterable[Condition],
        params: Mapping[str, int | str] | None = None,
    ) -> Query:
        """A query of parts already checked against ``schema`` (by the parser, or taken
        from a checked query): ``Query()``'s own check writes each part out and parses it
        back, which costs more than parsing the query string did."""
        built: Query = object.__new__(cls)
        built._fill(schema, conditions, params)
        return built

    def _fill(
        self,
        schema: Schema,
        conditions: Iterable[Condition],
        params: Mapping[str, int | str] | None,
    ) -> None:
        """Set the fields from arguments already checked against ``schema``."""
        filled = dict(schema.defaults)
        if params:
            filled.update(params)
        # canonical parameter order; a stable sort keeps repeated conditions as given
        position = schema.positions.__getitem__
        conds = tuple(sorted(conditions, key=lambda c: position(c.field)))
        object.__setattr__(self, "schema", schema)
        object.__setattr__(self, "conditions", conds)
        object.__setattr__(self, "params", MappingProxyType(filled))
        object.__setattr__(self, "_canonical", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Query is immutable")

    # -- the list parameters of SPEC §5 ------------------------------------------------

    def param(self, name: str) -> int | str:
        """The value of plain parameter ``name`` (its default when not given); raises
        :class:`KeyError` naming the schema's plain parameters when there is no such one."""
        try:
            return self.params[name]
        except KeyError:
            raise KeyError(
                f"{name!r} is not a plain parameter of this schema "
                f"(it has: {', '.join(self.params) or 'none'})"
            ) from None

    @property
    def limit(self) -> int:
        """``param("limit")``, for schemas that call their page size ``limit``."""
        v = self.params.get("limit")
        if isinstance(v, int):
            return v
        raise self._absent("limit", "integer")

    @property
    def offset(self) -> int:
        """``param("offset")``, for schemas that call their page offset ``offset``."""
        v = self.params.get("offset")
        if isinstance(v, int):
            return v
        raise self._absent("offset", "integer")

    @property
    def deleted(self) -> str:
        """``param("deleted")``, for schemas with a ``deleted`` parameter."""
        v = self.params.get("deleted")
        if isinstance(v, str):
            return v
        raise self._absent("deleted", "word")

    def _absent(self, name: str, kind: str) -> AttributeError:
        return AttributeError(
            f"this query's schema has no plain {kind} parameter {name!r}; use "
            f"Query.param(name) with one of: {', '.join(self.params) or 'none'}"
        )

    def implied_conditions(self) -> tuple[Condition, ...]:
        """Conditions that plain parameters stand for (``deleted=exclude`` → ``deleted_at
        eq null``), in schema order."""
        out: tuple[Condition, ...] = ()
        for name, implies in self.schema.implications:
            out += implies.get(str(self.params[name]), ())
        return out

    def all_conditions(self) -> tuple[Condition, ...]:
        """What every backend compiles: the filters, then the implied conditions."""
        return self.conditions + self.implied_conditions()

    # -- advice (SPEC §8): never part of the value, equality or canonical form -----------

    @property
    def warnings(self) -> list[dict[str, str]]:
        """``{"field", "message"}`` dicts about what is accepted but probably not meant:
        ignored parameters that look like known ones, conditions no row can satisfy."""
        from .advice import warnings

        return warnings(self, getattr(self, "_ignored", ()))  # set by parse_query if any

    # -- identity ---------------------------------------------------------------------

    @property
    def canonical(self) -> str:
        if self._canonical is None:
            from .backends.querystring import to_query_string

            object.__setattr__(self, "_canonical", to_query_string(self))
        assert self._canonical is not None
        return self._canonical

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Query):
            return NotImplemented
        return self.canonical == other.canonical

    def __hash__(self) -> int:
        return hash(self.canonical)

    def __repr__(self) -> str:
        return f"Query({self.canonical!r})"


def _utc_operands(c: Condition) -> Condition:
    """``c`` with each datetime operand as its UTC instant, a naive one taken as UTC —
    what :func:`parse_query` reads back from the canonical string.  In a zone's repeated
    hour ``==`` and ``hash()`` are not about instants (PEP 495: New York's 1:30 and 1:30
    ``fold=1`` are "equal", neither equals its instant in UTC), and the backends' memos
    key on operands."""
    if all(not isinstance(v, datetime) or v.tzinfo is UTC for v in c.operands):
        return c
    return Condition(c.field, c.op, tuple(to_utc(v) if isinstance(v, datetime) else v
                                          for v in c.operands))


# parse_query is re-exported; parsequery needs Query first
from .parsequery import hand_built_failures, parse_query, query_too_long  # noqa: E402
