"""The ``opfilter`` console script: ``check`` a query, ``serve`` the reference endpoint."""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from . import InvalidQuery, parse_query, to_query_string
from .backends.querystring import format_operand
from .errors import compact_json
from .query import Query
from .values import format_datetime

GRAMMAR_HELP = """\
A filter parameter's value is OP:OPERANDS, or a bare operand meaning eq:

  eq neq            equal / not equal             project_id=eq:5   project_id=5
  gt gte lt lte     ordered comparison            updated_at=gte:2024-01-01T00:00:00Z
  in nin            in / not in a list (<= {max_items})   project_id=in:1,2,3
  bt                between, inclusive: min,max   updated_at=bt:2024-01-01,2024-01-31

Values: integers (-?digits), dates YYYY-MM-DD, date-times
YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM) (no offset means UTC; a date on a
date-time field means that whole UTC day), null (deleted_at only, with eq neq in nin).
Quote an operand with "..." to hold , " or : (escapes: \\" and \\\\).
{plain}

examples:
  opfilter check 'project_id=in:1,2&updated_at=gte:2024-06-15T10:00:00%2B02:00'
  opfilter check 'deleted=include&deleted_at=bt:2024-01-01,2024-01-31&limit=10'

Prints one JSON object: {"canonical", "ast", "sql", "warnings"} and exits 0, or the
400 body {"key", "message", "failures"} and exits 1 (on a terminal, or with
--format text, a readable explanation instead).  --strict makes unknown parameters
failures.  Usage errors exit 2.
"""


def _grammar_help() -> str:
    """GRAMMAR_HELP with the endpoint schema's own limits and defaults filled in."""
    from .schema import EnumParam, IntParam
    from .streams import SCHEMA

    plain = []
    for p in SCHEMA.params:
        if isinstance(p, EnumParam):
            plain.append(f"{p.name}={'|'.join(p.choices)} (default {p.default})")
        elif isinstance(p, IntParam):
            top = "2^63-1" if p.max == 2**63 - 1 else str(p.max)
            plain.append(f"{p.name}={p.min}..{top} (default {p.default})")
    max_items = max(f.max_items for f in SCHEMA.filters)
    return (GRAMMAR_HELP.replace("{max_items}", str(max_items))
            .replace("{plain}", textwrap.fill(f"Plain parameters: {', '.join(plain)}.", 88)))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def ast_json(query: Query) -> dict[str, Any]:
    """A JSON view of the typed AST: conditions (typed operands in canonical text where
    JSON has no type) and the plain parameters with defaults filled in."""
    conditions = []
    for c in query.conditions:
        f = query.schema.field(c.field)
        operands: list[Any] = []
        for v in c.operands:
            if v is None or isinstance(v, bool | int | str):
                operands.append(v)
            else:
                operands.append(format_operand(f, v))
        conditions.append({"field": c.field, "type": f.kind.value, "op": c.op.value,
                           "operands": operands})
    return {"conditions": conditions, "params": dict(query.params)}


def check(text: str, *, strict: bool = False) -> tuple[int, dict[str, Any]]:
    """``opfilter check``: (exit status, the JSON object to print)."""
    from .backends.sql import to_sql
    from .streams import SCHEMA

    try:
        query = parse_query(text, SCHEMA, strict=strict)
    except InvalidQuery as e:
        return 1, e.body
    sql = {}
    for dialect in ("sqlite", "postgresql"):
        where, params = to_sql(query, dialect)
        sql[dialect] = {"where": where, "params": [_json_value(p) for p in params]}
    advice = query.warnings
    return 0, {
        "canonical": to_query_string(query),
        "ast": ast_json(query),
        "sql": sql,
        "warnings": advice,
    }


_COLUMN = re.compile(r"at column ([0-9]+)")


def explain(text: str, status: int, obj: dict[str, Any]) -> str:
    """The ``--format text`` form: each failure and warning under its parameter as given,
    with a caret under the offending column, then the canonical form and the SQL."""
    from .inputs import split_raw

    given = [(n if isinstance(n, str) else n.raw, v if isinstance(v, str) else v.raw)
             for n, v in split_raw(text)]
    used: set[int] = set()
    out: list[str] = []
    items = [("error", f) for f in obj.get("failures", ())] + [
        ("warning", w) for w in obj.get("warnings", ())]
    for kind, item in items:
        out.append(f"{kind}: {item['message']}")
        index = next((i for i, (n, _) in enumerate(given)
                      if n == item["field"] and i not in used), None)
        if index is None:
            continue
        used.add(index)
        name, value = given[index]
        m = _COLUMN.search(item["message"])
        column = int(m[1]) - 1 if m else 0
        shown = f"{name}={value}"
        caret = len(name) + 1 + column if kind == "error" else 0
        out.append(f"    {shown}")
        out.append("    " + " " * min(caret, len(shown)) + "^")
    if status == 0:
        out.append(f"canonical: {obj['canonical'] or '(empty: every row, default page)'}")
        for dialect, compiled in obj["sql"].items():
            out.append(f"{dialect}: WHERE {compiled['where']}   params: {compiled['params']}")
    else:
        count = len(obj["failures"])
        out.append(f"invalid: {count} failure{'s' if count != 1 else ''}")
    return "\n".join(out) + "\n"


def _dumps(obj: object) -> str:
    return compact_json(obj).decode("utf-8")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opfilter",
        description="Validate operator:value filters and serve GET /api/production-plan-streams.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    chk = sub.add_parser(
        "check",
        help="validate a query string for GET /api/production-plan-streams",
        description="Validate a query string (percent-decoded as a server would) for "
        "GET /api/production-plan-streams and show its canonical form, AST and SQL.",
        epilog=_grammar_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chk.add_argument("query", help="the query string, e.g. 'project_id=in:1,2&limit=10'")
    chk.add_argument("--strict", action="store_true",
                     help="unknown parameters (and look-alikes such as projectId) are failures")
    chk.add_argument("--format", choices=("json", "text"), default=None,
                     help="json (default when stdout is not a terminal): SPEC §6's one line; "
                     "text (default on a terminal): an explanation with carets")
    srv = sub.add_parser(
        "serve",
        help="serve the reference endpoint over HTTP",
        description="Serve GET /api/production-plan-streams[/{id}] (WSGI, threaded). With no "
        "--data, a deterministic demo world is built once in an embedded SQLite file.",
    )
    srv.add_argument("--data", metavar="FILE.json", help="a fixture file (SPEC §6 format)")
    srv.add_argument("--store", choices=("memory", "sqlite", "postgresql"), default="sqlite")
    srv.add_argument("--dsn", help="PostgreSQL connection string (with --store postgresql)")
    srv.add_argument("--db", metavar="FILE", help="SQLite file (default: a demo file in the "
                     "user cache directory, or in memory with --data)")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--workers", type=int, default=8, metavar="N",
                     help="requests worked on at once (default 8)")
    srv.add_argument("--max-connections", type=int, default=64, metavar="N",
                     help="open connections, one thread each (default 64)")
    srv.add_argument("--pool-size", type=int, default=8, metavar="N",
                     help="database connections at most (default 8)")
    srv.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                     help="how long a request may wait for a worker or a database connection "
                     "before it is answered 503 (default 5)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        status, obj = check(args.query, strict=args.strict)
        form = args.format or ("text" if sys.stdout.isatty() else "json")
        sys.stdout.write(explain(args.query, status, obj) if form == "text"
                         else _dumps(obj) + "\n")
        return status
    from .server import serve_command

    return serve_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
