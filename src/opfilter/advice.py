"""Advice about a valid query (SPEC §8): what :attr:`Query.warnings` holds.

Two kinds, in this order: ignored parameters that look like a known one (found while
parsing, by :mod:`opfilter.suggest`, and kept on the query), then, per field in schema
order, conditions that no row can satisfy together — including a plain parameter's
implied conditions (``deleted=exclude`` means ``deleted_at`` is null).  Whether conditions
can hold together is :func:`opfilter.lowering.satisfiable`'s answer (SPEC §2 exists once).
Warnings never change a query's value, equality or canonical form; they are computed when
asked for, so parsing a clean query pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .lowering import Meaning, lower, satisfiable
from .nodes import Condition, Op

if TYPE_CHECKING:
    from .query import Query
    from .schema import Filter

__all__ = ["warnings"]


def warnings(query: Query, ignored: Iterable[dict[str, str]] = ()) -> list[dict[str, str]]:
    """Every warning about ``query``; ``ignored`` are the look-alike parameters that
    parsing set aside."""
    out = [dict(w) for w in ignored]
    if not query.conditions:
        return out
    by_field: dict[str, list[Condition]] = {}
    for c in query.conditions:
        by_field.setdefault(c.field, []).append(c)
    implied: dict[str, list[tuple[str, Condition]]] = {}
    for name, implies in query.schema.implications:
        for c in implies.get(str(query.params[name]), ()):
            implied.setdefault(c.field, []).append((name, c))
    for field_name, conds in by_field.items():
        f = query.schema.field(field_name)
        extra = implied.get(field_name, [])
        if len(conds) + len(extra) < 2:
            continue
        own = [lower(f, c).meaning for c in conds]
        if len(conds) > 1 and not satisfiable(own):
            out.append({"field": field_name, "message": _contradiction(f, conds)})
        elif extra and not satisfiable(own + [lower(f, c).meaning for _, c in extra]):
            out.append({"field": field_name, "message": _implied(query, f, conds, own, extra)})
    return out


def _written(f: Filter, conds: list[Condition]) -> str:
    from .backends.querystring import format_condition

    return "&".join(f"{f.name}={format_condition(f, c)}" for c in conds)


def _contradiction(f: Filter, conds: list[Condition]) -> str:
    shown = _written(f, conds)
    head = f"{shown} matches nothing: every condition on a parameter must hold, and no " \
        f"{f.name} satisfies them all"
    if all(c.op in (Op.EQ, Op.IN) for c in conds):
        from .backends.querystring import format_operand

        items: list[str] = []
        for c in conds:
            for v in c.operands:
                text = format_operand(f, v)
                if text not in items:
                    items.append(text)
        return f"{head}; did you mean {f.name}=in:{','.join(items)}?"
    return f"{head}; for rows matching any of them, send one request per condition"


def _implied(query: Query, f: Filter, conds: list[Condition], own: list[Meaning],
             extra: list[tuple[str, Condition]]) -> str:
    """``own``: the meanings of ``conds``, as the caller lowered them."""
    from .schema import EnumParam

    name = extra[0][0]
    param = query.schema[name]
    word = str(query.params[name])
    default = " (the default)" if word == query.schema.defaults.get(name) else ""
    alternatives = []
    if isinstance(param, EnumParam):
        for other in param.choices:
            implied = [lower(f, c).meaning for c in param.implies.get(other, ())
                       if c.field == f.name]
            if other != word and satisfiable(own + implied):
                alternatives.append(f"{name}={other}")
    means = _written(f, [c for _, c in extra])
    advice = f"; add {' or '.join(alternatives)}" if alternatives else ""
    return (f"{_written(f, conds)} matches nothing: with {name}={word}{default} only rows "
            f"where {means} are listed{advice}")
