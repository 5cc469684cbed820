"""Query → an in-memory predicate ``row -> bool`` (SPEC §2, §7 and §10).

A renderer of :mod:`opfilter.lowering` that writes **Python source**: one ``def`` per
compiled query, with every condition inlined, ``compile()``-d once (the way
:mod:`dataclasses` and attrs build ``__init__``).  That is what lets calling the predicate
cost about what a hand-written comprehension costs, and ``pred.select(rows)`` *be* one.

>>> from opfilter import parse_query
>>> from opfilter.streams import SCHEMA
>>> pred = to_predicate(parse_query('project_id=in:1,2&updated_at=gte:2024-01-01', SCHEMA),
...                     access="mapping")
>>> print(pred.source.split("\\n\\n")[2])
def predicate(row):
    try:
        return row['project_id'] in _p0 and _a1 <= row['updated_at'] and row['deleted_at'] is None
    except _MISS:
        return _exact(row)

The rules that make generating code safe (STYLE item 12):

* **No value ever enters the source.**  Operands are bound as names (``_p0`` a frozenset
  of points, ``_a1``/``_b1`` interval bounds) in the namespace given to ``exec``; a
  string operand full of quotes, newlines or Python code is data in a set, never text.
* **Field names** are written into the source only when they are plain ASCII identifiers
  that are not keywords (``row['updated_at']``, ``row.updated_at``); any other name is
  read through a bound name (``row[_k0]``, ``_getattr(row, _k0)``).
* The namespace has no builtins; everything the code calls is bound explicitly.
* One function, :func:`_source`, writes every source; the text is kept as
  ``pred.source`` so it can be read and tested.

Two versions of each condition are generated:

* the **fast** one reads ``row[name]`` / ``row.name`` and compares the raw value —
  conditions ordered so the likeliest to fail come first (equality on points, then
  ranges, then NULL tests, then negations);
* the **exact** one reads ``missing`` as NULL, takes a naive datetime as UTC and tests
  NULL explicitly.  The fast code falls back to it, for that row, on ``KeyError``,
  ``AttributeError`` or ``TypeError`` — a missing field, a naive datetime compared with an
  aware bound, a NULL in a range test on a field declared non-nullable.  (On datetime
  fields a point is the one-instant range ``a <= x <= a``: ``==`` between time zones is
  false in a repeated DST hour.)  A genuinely bad row (an ``int`` compared with a
  ``str``) raises from the exact code.

Mapping rows are read with ``row[name]`` (a ``KeyError`` is a missing field, i.e. NULL),
so a mapping that invents values for missing keys (``defaultdict``, ``Counter``) is read
as holding them.  Object rows are read by attribute (``AttributeError``: missing).

``access="auto"`` decides per row *class* (:func:`keyed`): mappings and ``sqlite3.Row``
by key, anything else by attribute.  Its predicate guards each fast path with one class
test; the class of the current run of rows is tested first.  And a naive datetime cannot be ordered
against an aware bound, so when a datetime field has range bounds the fast code also
comes with the bounds as naive UTC.  The predicate's code is one of these generated
variants (dict-like or object first; aware or naive), switched by the exact path — where
every row the running variant cannot decide goes — to the one that fits the row it just
decided.  Every variant is correct for every row, so the switch needs no lock.
Ranges on one field are intersected first (:func:`_merged`): ``gte`` and ``lt`` become
one chained comparison.

Writing the source is most of the cost of compiling (~70 µs), and a polling client sends
one shape with new values (``updated_at=gte:<now>``).  So the source is written from a
*plan* (:func:`_planned`): the merged conditions with every value replaced by a slot
number — which operands are equal, and so share a name, is part of the plan — and
memoized per plan (:func:`_shape`).  A query of a plan seen before only binds its own
values to the names, by slot.  The writer is given the plan and nothing else, so the memo
cannot serve a source that the values would change; :func:`_generate` writes from the
values (as for an ``access`` function, never memoized), and the tests hold the two to the
same text and names.
"""

from __future__ import annotations

import keyword
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from types import CodeType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol, assert_never, cast

from ..lowering import (
    Bound,
    Interval,
    Meaning,
    Member,
    Never,
    NotMember,
    Within,
    lower_condition,
)
from ..schema import Type

if TYPE_CHECKING:
    from ..query import Query

__all__ = ["Predicate", "render", "to_predicate"]

Access = Literal["auto", "mapping", "attribute"] | Callable[[Any, str], Any]
_MODES = ("auto", "mapping", "attribute")


class Predicate(Protocol):
    """What :func:`to_predicate` returns: call it on a row, or ``select`` from rows."""

    source: str
    """The generated Python source (values appear only as bound names)."""

    def __call__(self, row: Any) -> bool: ...

    def select(self, rows: Iterable[Any]) -> list[Any]:
        """The rows that match, in their order."""
        ...


# -- helpers the generated code calls (bound by name in its namespace) ----------------------


def _utc(v: Any) -> Any:
    """A naive datetime taken as UTC; anything else unchanged."""
    if isinstance(v, datetime) and v.tzinfo is None:
        return v.replace(tzinfo=UTC)
    return v


def _item(row: Any, key: str) -> Any:
    """``row[key]``, ``None`` when missing (``KeyError``; ``IndexError`` from
    ``sqlite3.Row``)."""
    try:
        return row[key]
    except LookupError:
        return None


@lru_cache(maxsize=256)
def keyed(cls: type) -> bool:
    """Whether ``access="auto"`` reads rows of class ``cls`` by key: mappings, and any
    class with a ``keys()`` method and ``__getitem__`` — the test ``dict()`` makes, which
    ``sqlite3.Row`` passes.  Rows of any other class are read by attribute."""
    return issubclass(cls, Mapping) or (callable(getattr(cls, "keys", None))
                                        and hasattr(cls, "__getitem__"))


@lru_cache(maxsize=1024)
def _safe_name(name: str) -> bool:
    """Whether ``name`` may be written into source as an attribute / a string literal:
    a plain ASCII identifier (Python would NFKC-normalise a non-ASCII one) and no keyword."""
    return name.isascii() and name.isidentifier() and not keyword.iskeyword(name)


# -- the one code generator ----------------------------------------------------------------
#
# It renders *ordered* conditions (:func:`_ordered`) and never looks at an operand:
# it hands each to the writer, which names it.  So the same functions write the source
# from the values (_ValueWriter) and from a plan that holds none (_SlotWriter).


class _Writer(ABC):
    """Names the operands while conditions are rendered to source.  An operand gets a new
    name (``_v0``, ``_p1``, ``_a2`` …, numbered in order of first use) unless the writer
    counts it the same as one named before under the same prefix: the fast and the exact
    code share their operands.  What counts as the same, and what a name stands for, is
    the subclass's: a value (:class:`_ValueWriter`) or a slot of a plan
    (:class:`_SlotWriter`)."""

    def __init__(self) -> None:
        self.bound: list[str] = []
        self._names: dict[tuple[str, Hashable], str] = {}
        self.naive = False
        """Whether range bounds are written for naive row values (see :meth:`end`)."""
        self.reads: dict[tuple[str, Type, str, bool], str] = {}

    def _name(self, prefix: str, same: Hashable) -> str:
        name = self._names.get((prefix, same))
        if name is None:
            name = self._names[prefix, same] = f"_{prefix}{len(self.bound)}"
            self.bound.append(name)
        return name

    @abstractmethod
    def point(self, point: Any) -> str:
        """The name of one point (``x == _v0``)."""

    @abstractmethod
    def point_set(self, m: Member | NotMember) -> str:
        """The name of ``m``'s points as a set, ``None`` in it when NULL is listed
        (``x in _p0``)."""

    @abstractmethod
    def end(self, prefix: str, value: Any) -> str:
        """The name of a range bound (``_a0 <= x``); while :attr:`naive`, of its copy for
        naive row values (:func:`_naive_copy`)."""

    @abstractmethod
    def key(self, name: str) -> str:
        """The name of a field name that may not be written into source (``row[_k0]``)."""


class _ValueWriter(_Writer):
    """Writes from the values themselves: equal operands of one type share a name, and
    ``namespace`` binds each name to the first of them.  This is how every source was
    written before plans; :func:`_generate` keeps it for an ``access`` function (never
    memoized) and as the reference that plans are tested against."""

    def __init__(self) -> None:
        super().__init__()
        self.namespace: dict[str, Any] = {}

    def _bind(self, prefix: str, value: Any) -> str:
        name = self._name(prefix, (type(value), value))
        self.namespace.setdefault(name, value)
        return name

    def point(self, point: Any) -> str:
        return self._bind("v", point)

    def point_set(self, m: Member | NotMember) -> str:
        return self._bind("p", _points(m.points, m.null))

    def end(self, prefix: str, value: Any) -> str:
        return self._bind(prefix, _naive_copy(value) if self.naive else value)

    def key(self, name: str) -> str:
        return self._bind("k", name)


class _SlotWriter(_Writer):
    """Writes from a :class:`_Plan`, whose operands are slot numbers, so what it writes
    cannot depend on anything but the plan.  Two slots hold values the
    :class:`_ValueWriter` would count the same only if they are one slot, so the names
    come out as from the values.  ``slots``: the slot each name reads from a query's
    values; ``names``: the odd field names (part of the plan, so the same for every query
    of it)."""

    def __init__(self, plan: _Plan) -> None:
        super().__init__()
        self._set_slot: dict[tuple[tuple[Any, ...], bool], int] = {
            (points, null): s for points, null, s in plan.sets}
        self.slots: dict[str, int] = {}
        self.names: dict[str, str] = {}

    def _bind(self, prefix: str, slot: int) -> str:
        name = self._name(prefix, slot)
        self.slots.setdefault(name, slot)
        return name

    def point(self, point: Any) -> str:
        slot, _ = point  # a Slot
        return self._bind("v", slot)

    def point_set(self, m: Member | NotMember) -> str:
        return self._bind("p", self._set_slot[m.points, m.null])

    def end(self, prefix: str, value: Any) -> str:
        slot, naive = value  # a Slot
        return self._bind(prefix, naive if self.naive else slot)

    def key(self, name: str) -> str:
        bound = self._name("k", name)
        self.names[bound] = name
        return bound


class _Field:
    """One field's uses in one expression.  Each use is written as a placeholder token;
    :meth:`finish` makes the first one (in text order, which is evaluation order in
    ``and``/``or``/``not`` chains and chained comparisons) read the row — into a local
    ``(_f0 := row['x'])`` when there are more uses — and the others use the local."""

    def __init__(self, index: int, name: str, kind: Type) -> None:
        self.token, self.local = f"\x00{index}\x00", f"_f{index}"
        self.name, self.kind = name, kind

    def __call__(self) -> str:
        return self.token

    def finish(self, expr: str, read: str) -> str:
        uses = expr.count(self.token)
        if uses == 0:
            return expr
        first = read if uses == 1 else f"({self.local} := {read})"
        return expr.replace(self.token, first, 1).replace(self.token, self.local)


def _interval(w: _Writer, x: Callable[[], str], i: Interval) -> str:
    lo, hi = i.lower, i.upper
    if lo is None and hi is None:
        return f"{x()} is not None"
    text = ""
    if lo is not None:
        text = f"{w.end('a', lo.value)} {'<=' if lo.inclusive else '<'} "
    text += x()
    if hi is not None:
        text += f" {'<=' if hi.inclusive else '<'} {w.end('b', hi.value)}"
    return text


def _member(w: _Writer, x: Callable[[], str], m: Member | NotMember, guard: bool) -> str:
    """The source of "``x`` is a member of ``m``" (the positive form of both shapes).
    ``guard``: test NULL explicitly before a range comparison (else a NULL there raises
    ``TypeError`` and the row is decided by the exact code)."""
    parts: list[str] = []
    if len(m.points) == 1 and not m.null:
        parts.append(f"{x()} == {w.point(m.points[0])}")
    elif m.points:
        parts.append(f"{x()} in {w.point_set(m)}")
    elif m.null:
        parts.append(f"{x()} is None")
    ranges = [_interval(w, x, i) for i in m.intervals]
    if ranges:
        joined = " or ".join(ranges)
        if guard:
            joined = f"{x()} is not None and ({joined})"
        parts.append(f"({joined})" if parts or len(ranges) > 1 else joined)
    if not parts:
        return "False"
    return " or ".join(parts)


def _condition(w: _Writer, x: Callable[[], str], meaning: Meaning, guard: bool) -> str:
    """One ordered condition → a Python boolean expression over the field read by ``x``."""
    match meaning:
        case Member():
            return _member(w, x, meaning, guard)
        case NotMember(points=points, intervals=intervals, null=null):
            if not intervals and not points:
                return f"{x()} is not None" if null else "True"
            if not intervals and len(points) == 1 and not null:
                return f"{x()} != {w.point(points[0])}"
            if not intervals:
                return f"{x()} not in {w.point_set(meaning)}"
            return f"not ({_member(w, x, meaning, guard)})"
        case Within(interval=interval):
            test = _interval(w, x, interval)
            if guard and (interval.lower is not None or interval.upper is not None):
                return f"{x()} is not None and {test}"
            return test
        case Never():
            return "False"
        case _:  # pragma: no cover
            assert_never(meaning)


Condition = tuple[str, Type, bool, Meaning]
"""(field name, field type, nullable, meaning)"""


def _read(w: _Writer, name: str, kind: Type, read: str, exact: bool) -> str:
    """The source reading field ``name`` from ``row``."""
    done = w.reads.get((name, kind, read, exact))
    if done is None:
        done = w.reads[name, kind, read, exact] = _read_text(w, name, kind, read, exact)
    return done


def _read_text(w: _Writer, name: str, kind: Type, read: str, exact: bool) -> str:
    key = repr(name) if _safe_name(name) else w.key(name)
    if read == "fetch":
        text = f"_fetch(row, {key})"
    elif exact:
        text = f"_item(row, {key})" if read == "item" else f"_getattr(row, {key}, None)"
    elif read == "item":
        text = f"row[{key}]"
    else:
        text = f"row.{name}" if _safe_name(name) else f"_getattr(row, {key})"
    return f"_utc({text})" if exact and kind is Type.DATETIME else text


def _expression(w: _Writer, conds: Sequence[Condition], reads: Sequence[str], exact: bool,
                naive: bool = False) -> dict[str, str]:
    """The ``and`` of all conditions, for each way of reading a field in ``reads``:
    "item" (``row[...]``), "attr" (``row.x``) or "fetch" (``_fetch(row, name)``) — the
    text is rendered once and only the reads differ.  ``exact``: missing is NULL, naive
    datetimes are UTC, NULL tested before every range.  ``naive``: datetime range
    bounds for naive row values.  Conditions are separated by ``\nand ``: ``_flat``
    puts them on one line (a function's ``return``), ``_stacked`` one under another (a
    comprehension's ``if``)."""
    fields: dict[str, _Field] = {}
    parts: list[str] = []
    w.naive = naive
    for name, kind, nullable, meaning in conds:
        f = fields.get(name)
        if f is None:
            f = fields[name] = _Field(len(fields), name, kind)
        # each condition renders its field's uses through `f`; finish() below turns the
        # first use in the whole chain into the assignment
        parts.append(_condition(w, f, meaning, exact or nullable))
    w.naive = False
    if not parts:
        return dict.fromkeys(reads, "True")
    template = "\nand ".join(f"({p})" if " or " in p and len(parts) > 1 else p for p in parts)
    out: dict[str, str] = {}
    for read in reads:
        expr = template
        for f in fields.values():
            expr = f.finish(expr, _read(w, f.name, f.kind, read, exact))
        out[read] = expr
    return out


def _flat(expr: str) -> str:
    """The conditions on one line (no operand or field name holds a newline: both are
    bound names when they are not plain identifiers)."""
    return expr.replace("\n", " ")


def _stacked(expr: str, indent: int) -> str:
    """One condition a line, as a person writes a long comprehension.  CPython then jumps
    from a failed condition to the loop's own backward jump, as in the hand-written
    form; on one line the jump goes straight back.  On this shared host the straight
    jump measured 0.88-0.95x the hand-written comprehension in its quiet spells but
    1.07-1.17x in its slow ones; stacked, it tracks the hand-written form (0.94-1.06x)."""
    return expr.replace("\n", "\n" + " " * indent)


def _ranged_datetime(conds: Sequence[Condition]) -> str | None:
    """The first datetime field compared with bounds (points are one-instant ranges) —
    the one whose value tells whether a row holds naive datetimes (``None``: none)."""
    for name, kind, _, meaning in conds:
        if kind is Type.DATETIME and (
                isinstance(meaning, Within)
                or (isinstance(meaning, Member | NotMember)
                    and (meaning.intervals or meaning.points))):
            return name
    return None


def _guarded(name: str, fast: dict[str, str], order: Sequence[str], swap: str) -> list[str]:
    """A predicate variant of ``auto``: each read mode's fast path under a test of the
    row's class (``_KI``: the dict-like class, ``_KA``: the object class decided last).
    A row of the class tested second makes ``predicate`` run ``swap``, the variant testing
    it first: rows come in runs of one class, and the second test costs ~20% a row."""
    lines = [f"def {name}(row):"]
    for k, mode in enumerate(order):
        lines += [f"    {'if' if k == 0 else 'elif'} row.__class__ is "
                  f"{'_KI' if mode == 'item' else '_KA'}:",
                  *([f"        predicate.__code__ = {swap}"] if k else []),
                  "        try:", f"            return {_flat(fast[mode])}",
                  "        except _MISS:", "            pass"]
    return [*lines, "    return _exact(row)", ""]


def _plain(name: str, fast: str) -> list[str]:
    """A predicate variant of ``mapping`` / ``attribute``: the fast path, else exact."""
    return [f"def {name}(row):", "    try:", f"        return {_flat(fast)}", "    except _MISS:",
            "        return _exact(row)", ""]


def _switch(variants: str, probe: str | None) -> list[str]:
    """Lines of ``_exact`` making ``predicate`` run the variant in ``variants`` (a tuple:
    aware, naive) that fits this row."""
    pick = f"{variants}[_naive({probe})]" if probe else f"{variants}[0]"
    return [f"    code = {pick}", "    if predicate.__code__ is not code:",
            "        predicate.__code__ = code"]


def _source(w: _Writer, conds: Sequence[Condition], access: str) -> str:
    """The module source defining ``_exact``, ``predicate`` (and the variants its code is
    switched between) and ``select``, for ordered conditions, naming operands through
    ``w``.

    The fast code comes in an aware and, when a datetime field has range bounds, a naive
    variant (bounds as naive UTC: a naive row value cannot be ordered against an aware
    bound).  ``_exact`` — where every row the fast code cannot decide goes — makes
    ``predicate`` run the variant that fits the row it just decided; ``select`` tries the
    aware comprehension, then the naive one, then calls the predicate per row (which
    decides a row its fast code cannot exactly, and the others fast).  ``auto``'s
    comprehensions read rows of the first row's class on the fast path and any other row
    through the predicate, whose variants test every row's class."""
    if access == "fetch":
        test = _expression(w, conds, ["fetch"], True)["fetch"]
        return _text(w, access, [
            "def predicate(row):", f"    return {_flat(test)}", "",
            "def select(rows):", "    return [row for row in rows if predicate(row)]"])
    modes = {"mapping": ["item"], "attribute": ["attr"], "auto": ["item", "attr"]}[access]
    ranged = _ranged_datetime(conds)
    tz = [False, True] if ranged is not None else [False]
    exact = _expression(w, conds, modes, True)
    fast = {(m, naive): text for naive in tz
            for m, text in _expression(w, conds, modes, False, naive).items()}
    probe = {m: None if ranged is None else _read(w, ranged, Type.STRING, m, True)
             for m in modes}

    def variants(tag: str, names: list[str]) -> str:
        return f"{tag} = ({names[0]}.__code__, {names[-1]}.__code__)"

    lines: list[str] = []
    if access == "auto":  # keyed rows (mappings, sqlite3.Row) by key, others by attribute
        lines += [
            "def _exact(row):",
            "    # decides the row by the rule, and makes its class the one the fast path",
            "    # tests first (classes are compared, so every variant is correct)",
            "    global _KI, _KA",
            "    kind = row.__class__",
            "    if _keyed(kind):",
            "        _KI = kind",
            *("    " + line for line in _switch("_ITEMS_FIRST", probe["item"])),
            f"        return {_flat(exact['item'])}",
            "    _KA = kind",
            *_switch("_ATTRS_FIRST", probe["attr"]),
            f"    return {_flat(exact['attr'])}",
            "",
        ]
        names: dict[str, list[str]] = {"item": [], "attr": []}
        for first, then in (("item", "attr"), ("attr", "item")):
            for naive in tz:
                name = ("predicate" if first == "item" and not naive
                        else f"_{first}s_first{'_naive' if naive else ''}")
                names[first].append(name)
                swap = f"{'_ATTRS_FIRST' if first == 'item' else '_ITEMS_FIRST'}[{int(naive)}]"
                lines += _guarded(name, {first: fast[first, naive], then: fast[then, naive]},
                                  [first, then], swap)
        lines += [variants("_ITEMS_FIRST", names["item"]),
                  variants("_ATTRS_FIRST", names["attr"]), ""]
    else:
        (mode,) = modes
        switch = _switch("_VARIANTS", probe[mode]) if len(tz) == 2 else []
        lines += ["def _exact(row):", *switch, f"    return {_flat(exact[mode])}", ""]
        plain = ["predicate", "_naive_variant"][:len(tz)]
        for name, naive in zip(plain, tz, strict=True):
            lines += _plain(name, fast[mode, naive])
        if len(tz) == 2:
            lines += [variants("_VARIANTS", plain), ""]

    body = ["def select(rows):",
            "    if _type(rows) is not _list:",
            "        rows = _list(rows)"]
    if access == "auto":  # the first row's class on the fast path, other rows per row
        body += ["    if not rows:", "        return []",
                 "    kind = rows[0].__class__",
                 "    keyed = _keyed(kind)"]
    shift = 4 if w.bound else 0  # the body goes into _select_over(...) below

    def comprehension(indent: int, test: str, tail: str = "") -> list[str]:
        head = " " * indent + "return [row for row in rows if " + ("(" if tail else "")
        pad = len(head) + shift
        return [head + _stacked(test, pad) + ("" if tail else "]"),
                *([" " * (pad - shift) + tail + ")]"] if tail else [])]

    other = "if row.__class__ is kind else predicate(row)"
    for naive in tz:
        body += ["    try:"]
        if access == "auto":
            body += ["        if keyed:",
                     *comprehension(12, fast["item", naive], other),
                     *comprehension(8, fast["attr", naive], other)]
        else:
            body += comprehension(8, fast[modes[0], naive])
        body += ["    except _MISS:", "        pass"]
    # a row the comprehensions cannot decide: every row through the predicate, which
    # decides that one row exactly and the others on its fast path
    body += ["    return [row for row in rows if predicate(row)]"]
    if w.bound:
        # the comprehensions read the operands as closure cells, the way comprehensions
        # written in a function read its locals
        names_all = ", ".join(w.bound)
        body = [f"def _select_over({names_all}):", *("    " + line for line in body),
                "    return select", "", f"select = _select_over({names_all})"]
    return _text(w, access, lines + body)


def _naive(v: Any) -> bool:
    """Whether ``v`` is a naive datetime (which variant of the fast code fits the row)."""
    return isinstance(v, datetime) and v.tzinfo is None


def _text(w: _Writer, access: str, lines: list[str]) -> str:
    header = (f"# opfilter predicate ({access}); operands and odd field names are bound "
              f"names: {', '.join(w.bound) or 'none'}")
    return header + "\n\n" + "\n".join(lines)


# -- what the source depends on: the conditions merged and ordered, and plans --------------
#
# The source is written from the lowered conditions with ranges on one field intersected
# (_merged: it compares values), in order of evaluation and with points on datetime fields
# as instants (_ordered: it looks at the structure only).  A plan (_Plan) is the merged
# conditions with every value replaced by a slot number: it is the key of the shape memo,
# and the writer is given nothing else.


def _merged(conds: Sequence[Condition]) -> list[Condition]:
    """The conditions with every field's ranges (``Within``) intersected into one, so
    ``gte`` and ``lt`` on a field become one chained comparison ``a <= x < b`` — what a
    person writes, and one read of the field."""
    out: list[Condition] = []
    at: dict[str, int] = {}
    for name, kind, nullable, meaning in conds:
        i = at.get(name)
        if isinstance(meaning, Within):
            if i is not None:
                old = out[i][3]
                assert isinstance(old, Within)
                out[i] = (name, kind, nullable, Within(old.interval.intersect(meaning.interval)))
                continue
            at[name] = len(out)
        out.append((name, kind, nullable, meaning))
    return out


def _rank(meaning: Meaning) -> int:
    """Order of evaluation: what most likely fails first (and costs least)."""
    match meaning:
        case Never():
            return 0
        case Member(points=points):
            return 1 if points else 3
        case Within():
            return 2
        case NotMember():
            return 4
        case _:  # pragma: no cover
            assert_never(meaning)


def _ranked(cond: Condition) -> int:
    return _rank(cond[3])


def _instants(meaning: Meaning) -> Meaning:
    """On a datetime field, points as one-instant intervals ``a <= x <= a``: an ordering
    comparison takes a naive value as UTC through the naive variant, and is right for an
    aware value in any zone — ``==`` between zones is always false in a repeated DST hour
    (PEP 495), so a point set would miss such a row."""
    if isinstance(meaning, (Member, NotMember)) and meaning.points:
        instants = tuple(Interval(Bound(p, True), Bound(p, True)) for p in meaning.points)
        return type(meaning)((), instants + meaning.intervals, meaning.null)
    return meaning


def _ordered(conds: Sequence[Condition]) -> list[Condition]:
    """Merged conditions as the source is written from them: in order of evaluation
    (:func:`_rank`, which sees points before they become instants), points on datetime
    fields as instants (:func:`_instants`).  Neither step reads a value, so they apply
    alike to the values and to the slots of a plan."""
    return [(name, kind, nullable, _instants(meaning) if kind is Type.DATETIME else meaning)
            for name, kind, nullable, meaning in sorted(conds, key=_ranked)]


def _points(values: Iterable[Any], null: bool) -> frozenset[Any]:
    """A point set, plus ``None`` when NULL is listed."""
    return frozenset([*values, None] if null else values)


def _naive_copy(value: Any) -> Any:
    """A range bound as a naive variant compares it: an aware datetime as naive UTC (the
    lowering's datetimes are UTC), anything else as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


Slot = tuple[int, int]
"""A value in a plan: its slot, and the slot of its naive copy (:func:`_naive_copy`; the
same slot unless the value is an aware datetime).  The copy is the value's own, not its
slot's: equal aware datetimes in two zones are one slot but have two naive copies."""

End = tuple[int, int, bool] | None
"""A range bound in a plan: its :data:`Slot` and whether it is inclusive, or ``None``."""

Skeleton = tuple[Any, ...]
"""A meaning in a plan: its class, with a :data:`Slot` in place of each value —
``(Member|NotMember, points, ((lower, upper), …), null)``, ``(Within, lower, upper)`` or
``(Never,)``, each bound an :data:`End`.  (Tuples, not the meaning's own classes: a plan
is made and hashed for every query, and built back into meanings, by :func:`_meaning`,
only when its source is written.)"""


class _Plan(NamedTuple):
    """All that a predicate's source is written from, and no value: the merged conditions
    with each meaning as a :data:`Skeleton`, and the slots of the point sets.  Queries with
    equal plans get the same source, so a plan is the key of the shape memo
    (:func:`_shape`); each query's own values are then bound to the names by slot."""

    conds: tuple[tuple[str, Type, bool, Skeleton], ...]
    """(field name, field type, nullable, skeleton)"""
    sets: tuple[tuple[tuple[Slot, ...], bool, int], ...]
    """(a condition's points, NULL listed, the slot of the point set)"""


class _Slots:
    """Makes the plan of merged conditions in one traversal, collecting the values.  A
    value gets a new slot unless an equal one of the same type has one — exactly when a
    :class:`_ValueWriter` would give them one name — so a plan says which operands are
    equal.  Operands made from values get slots too: a point set (sets are equal by their
    elements, in any order and of any type: ``{1, 2} == {2, 1}``) and a bound's naive
    copy."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.sets: list[tuple[tuple[Slot, ...], bool, int]] = []
        self._slot: dict[tuple[type, Any], int] = {}

    def slot(self, value: Any) -> int:
        key = (type(value), value)
        slot = self._slot.get(key)
        if slot is None:
            slot = self._slot[key] = len(self.values)
            self.values.append(value)
        return slot

    def both(self, value: Any) -> Slot:
        """The slots of ``value`` and of its naive copy."""
        slot, copy = self.slot(value), _naive_copy(value)
        return slot, slot if copy is value else self.slot(copy)

    def skeleton(self, meaning: Meaning, datetimes: bool) -> Skeleton:
        # isinstance, not match: a plan is made per query, and class patterns cost ~1 µs
        # a query more (_rank and _condition match, so mypy still sees every shape there)
        if isinstance(meaning, Within):
            interval = meaning.interval
            return (Within, self.end(interval.lower), self.end(interval.upper))
        if isinstance(meaning, Never):
            return (Never,)
        points, intervals, null = meaning.points, meaning.intervals, meaning.null
        slots = tuple([self.both(p) for p in points]) if points else ()
        # a set is written only for several points or NULL among them, never on a
        # datetime field (points are instants there); if this drifts from the renderer,
        # _SlotWriter.point_set raises KeyError rather than writing a wrong source
        if slots and (len(slots) > 1 or null) and not datetimes:
            self.sets.append((slots, null, self.slot(_points(points, null))))
        ends = tuple([(self.end(i.lower), self.end(i.upper)) for i in intervals]
                     ) if intervals else ()
        return (type(meaning), slots, ends, null)

    def end(self, bound: Bound | None) -> End:
        return None if bound is None else (*self.both(bound.value), bound.inclusive)


def _planned(conds: Sequence[Condition]) -> tuple[_Plan, list[Any]]:
    """The plan of lowered conditions, and the values its slots stand for."""
    s = _Slots()
    skeletons = tuple([(name, kind, nullable, s.skeleton(meaning, kind is Type.DATETIME))
                       for name, kind, nullable, meaning in _merged(conds)])
    return _Plan(skeletons, tuple(s.sets)), s.values


def _meaning(skeleton: Skeleton) -> Meaning:
    """The meaning a skeleton was made from, with a :data:`Slot` for each value."""
    cls = skeleton[0]
    if cls is Within:
        return Within(_interval_of(*skeleton[1:]))
    if cls is Never:
        return Never()
    _, points, intervals, null = skeleton
    meaning: Meaning = cls(points, tuple(_interval_of(lo, hi) for lo, hi in intervals), null)
    return meaning


def _interval_of(lo: End, hi: End) -> Interval:
    return Interval(None if lo is None else Bound(lo[:2], lo[2]),
                    None if hi is None else Bound(hi[:2], hi[2]))


# -- building predicates --------------------------------------------------------------------


def _helpers() -> dict[str, Any]:
    """What the generated code calls, bound by name (no builtins: nothing else is
    reachable)."""
    return {"__builtins__": {}, "_MISS": (LookupError, AttributeError, TypeError),
            "_type": type, "_list": list, "_keyed": keyed, "_naive": _naive,
            "_getattr": getattr, "_item": _item, "_utc": _utc, "_KI": dict, "_KA": None}


def _generate(conds: Sequence[Condition], access: str) -> tuple[str, dict[str, Any]]:
    """The source and namespace of lowered conditions, written from their values — not
    memoized (an ``access`` function; and the reference :func:`_prepared` must equal)."""
    w = _ValueWriter()
    source = _source(w, _ordered(_merged(conds)), access)
    return source, {**w.namespace, **_helpers()}


class _Shape(NamedTuple):
    """What a plan compiles to, for any values: the source, its code, and the names to bind
    — each to a slot of the query's values, or to an odd field name."""

    source: str
    code: CodeType
    slots: tuple[tuple[str, int], ...]
    names: tuple[tuple[str, str], ...]


@lru_cache(maxsize=512)
def _shape(plan: _Plan, access: str) -> _Shape:
    """The shape memo: writing the source is most of compiling a predicate (the
    conditions are rendered three times: exact, fast aware, fast naive), and a polling
    client sends one shape with new values.  Keyed by the plan, which is all the writer
    is given, so it cannot serve a source that another query's values would change."""
    w = _SlotWriter(plan)
    conds = [(name, kind, nullable, _meaning(skeleton))
             for name, kind, nullable, skeleton in plan.conds]
    source = _source(w, _ordered(conds), access)
    return _Shape(source, _compiled(source), tuple(w.slots.items()), tuple(w.names.items()))


def _prepared(conds: Sequence[Condition], access: str) -> tuple[str, CodeType, dict[str, Any]]:
    """Source, code and namespace of lowered conditions for a named access mode, through
    the shape memo: only the plan and the namespace are made per query."""
    plan, values = _planned(conds)
    shape = _shape(plan, access)
    namespace = _helpers()
    namespace.update(shape.names)
    for name, slot in shape.slots:
        namespace[name] = values[slot]
    return shape.source, shape.code, namespace


@lru_cache(maxsize=512)
def _compiled(source: str) -> CodeType:
    """Compile once per distinct source (sources hold no values, so queries of the same
    shape share their code object)."""
    return compile(source, "<opfilter predicate>", "exec")


@lru_cache(maxsize=1024)
def _build(conds: tuple[Condition, ...], access: str) -> Predicate:
    """The predicate of lowered conditions for a named access mode, memoized: a server
    compiles one per request, and polling clients repeat their filters (equal meanings
    select the same rows, so they may share a predicate; its only state is which variant
    runs, and every variant is correct)."""
    return _built(*_prepared(conds, access))


def _built(source: str, code: CodeType, namespace: dict[str, Any]) -> Predicate:
    exec(code, namespace)  # the source holds no value: see the module doc
    fn = namespace["predicate"]
    fn.select = namespace["select"]
    fn.source = source
    return cast(Predicate, fn)


def _compile(conds: tuple[Condition, ...], access: Access) -> Predicate:
    if callable(access):  # a new function per caller: not memoized
        source, namespace = _generate(conds, "fetch")
        namespace["_fetch"] = access
        return _built(source, _compiled(source), namespace)
    if access not in _MODES:
        raise ValueError(
            f"access must be 'auto', 'mapping', 'attribute' or a function (row, name) -> "
            f"value, not {access!r}"
        )
    return _build(conds, access)


def render(meaning: Meaning, kind: Type) -> Callable[[Any], bool]:
    """One lowered condition → a test of one field's value (``None`` is NULL), through the
    same generator as :func:`to_predicate`."""
    pred = _build((("value", kind, True, meaning),), "mapping")
    return lambda v: bool(pred({"value": v}))


def to_predicate(query: Query, *, access: Access = "auto") -> Predicate:
    """Compile ``query`` (its filters and implied conditions such as ``deleted``) to a
    predicate: ``pred(row) -> bool``, ``pred.select(rows) -> list`` and ``pred.source``.

    ``access``: ``"mapping"`` (``row[field]``), ``"attribute"`` (``row.field``), ``"auto"``
    (mappings by key, anything else by attribute) or a function ``(row, field) -> value``.
    Fields are read by their schema name; a missing one is NULL."""
    return _compile(_lowered(query), access)


def _lowered(query: Query) -> tuple[Condition, ...]:
    """The query's conditions, lowered (``lower_condition``: the ``Constraint`` that
    :func:`~opfilter.lowering.lower` wraps the meaning in is not needed here)."""
    field = query.schema.field
    conds = []
    for c in query.all_conditions():
        f = field(c.field)
        kind = f.kind
        conds.append((f.name, kind, f.nullable,
                      lower_condition(c.op, c.operands, kind is Type.DATETIME)))
    return tuple(conds)
