"""One filter value → its operator name and raw operands, with the Lark grammar.

``grammar/filter.lark`` is the single source of the syntax.  The parser is Lark LALR with
the transformer inline (no parse tree is built), created once, on first use, so that
``import opfilter`` does not pay for importing Lark.

A fast path serves the commonest shape — no quoted operand — with regular expressions
taken from the grammar's own terminals (``OPERATOR``, ``BARE``, ``_SEP``); anything else,
and every error, goes through Lark.  ``test_fast_path_agrees_with_lark`` in
``tests/test_properties.py`` checks the two agree on arbitrary text.

:data:`OPERATOR_RE` is the grammar's ``OPERATOR`` terminal, read from the grammar file
without Lark (so that ``import opfilter`` stays cheap); the parameter loop and the
canonical writer use it to recognise an operator name at the start of a value.

What an operand *means* is the schema's business (``schema.py``); this module only splits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from .nodes import Span

if TYPE_CHECKING:
    from lark import Lark, Token

__all__ = [
    "OPERATOR_RE",
    "QUOTE_HINT",
    "RawOperand",
    "RawValue",
    "Split",
    "SyntaxProblem",
    "grammar_text",
    "parse_value",
    "split_unquoted",
    "terminal_pattern",
]


@dataclass(frozen=True, slots=True)
class RawOperand:
    """One operand's text (quotes removed, escapes resolved) and where it stood."""

    text: str
    quoted: bool
    span: Span


@dataclass(frozen=True, slots=True)
class RawValue:
    """``op`` is the operator name as written (``None`` for a bare value)."""

    op: str | None
    operands: tuple[RawOperand, ...]


Split: TypeAlias = "tuple[str | None, tuple[str, ...], tuple[Span, ...]]"
"""What :func:`split_unquoted` gives: operator name (or None), operand texts, spans."""


class SyntaxProblem(ValueError):
    """The value does not follow the grammar; ``str()`` says where and why, in words.
    ``space``: the problem is an unexpected space (a text field's caller adds
    :data:`QUOTE_HINT`)."""

    def __init__(self, message: str, *, space: bool = False) -> None:
        super().__init__(message)
        self.space = space


@cache
def grammar_text() -> str:
    """The grammar's source (read once): inside the installed package (the wheel carries
    it next to this module), or the repository's copy for a source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "filter.lark"
    source = packaged if packaged.is_file() else here.parents[1] / "grammar" / "filter.lark"
    return source.read_text(encoding="utf-8")


_TERMINAL = re.compile(r"^(?P<name>[A-Z_]+)(?:\.-?\d+)?\s*:\s*/(?P<re>.*)/(?P<flags>[imsux]*)\s*$",
                       re.MULTILINE)


def terminal_pattern(name: str) -> str:
    """The regular expression of the grammar's terminal ``name`` (a ``/…/flags`` terminal),
    as Lark compiles it, read from the grammar's source without importing Lark."""
    for m in _TERMINAL.finditer(grammar_text()):
        if m["name"] == name:
            flags = m["flags"]
            return f"(?{flags}:{m['re']})" if flags else m["re"]
    raise LookupError(f"the grammar has no regular-expression terminal {name!r}")


OPERATOR_RE = re.compile(terminal_pattern("OPERATOR"))
"""An operator name and its ``:`` at the start of a value (SPEC §2), from the grammar."""


QUOTE_HINT = " (quote a text value that holds spaces)"
"""What a text field adds to an unexpected-space message (:attr:`SyntaxProblem.space`)."""


class _Callbacks:
    """Inline transformer: Lark calls these while parsing (LALR), no tree is built."""

    @staticmethod
    def start(children: list[Any]) -> RawValue:
        op_token, operands = children
        return RawValue(None if op_token is None else str(op_token)[:-1], operands)

    @staticmethod
    def operands(children: list[RawOperand]) -> tuple[RawOperand, ...]:
        return tuple(children)

    @staticmethod
    def bare(children: list[Token]) -> RawOperand:
        (tok,) = children
        return RawOperand(str(tok), False, Span(tok.start_pos or 0, tok.end_pos or 0))

    @staticmethod
    def quoted(children: list[Token]) -> RawOperand:
        (tok,) = children
        raw = str(tok)
        start = tok.start_pos or 0
        return RawOperand(_unescape(raw, start), True, Span(start, tok.end_pos or 0))


_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _unescape(raw: str, start: int) -> str:
    """The text of a QUOTED token; only ``\\"`` and ``\\\\`` are escapes."""
    inner = raw[1:-1]
    if "\\" not in inner:
        return inner
    for m in _ESCAPE.finditer(inner):
        if m[1] not in '"\\':
            col = start + 1 + m.start() + 1
            raise SyntaxProblem(
                f"invalid escape '\\{m[1]}' at column {col}: inside quotes only \\\" and "
                "\\\\ are escapes"
            )
    return _ESCAPE.sub(r"\1", inner)


class _Parser:
    """The Lark parser plus the fast path compiled from its terminals."""

    def __init__(self) -> None:
        from lark import Lark, Transformer

        class Inline(Transformer[Any, RawValue]):
            start = staticmethod(_Callbacks.start)
            operands = staticmethod(_Callbacks.operands)
            bare = staticmethod(_Callbacks.bare)
            quoted = staticmethod(_Callbacks.quoted)

        self.lark: Lark = Lark(
            grammar_text(),
            parser="lalr",
            lexer="contextual",
            transformer=Inline(),
            maybe_placeholders=True,
        )

        def pattern(name: str) -> str:
            return str(self.lark.get_terminal(name).pattern.to_regexp())

        self.op_re = OPERATOR_RE  # the same terminal (tests/test_inputs.py checks it)
        self.bare_re = re.compile(pattern("BARE"))
        self.sep_re = re.compile(pattern("_SEP"))

    def split(self, text: str) -> Split | None:
        """Operator name, operand texts and spans if no operand is quoted and the value
        parses cleanly; else ``None``."""
        if '"' in text:
            return None
        m = self.op_re.match(text)
        start = m.end() if m else 0
        texts: list[str] = []
        spans: list[Span] = []
        pos = start
        if " " not in text:
            # No quote and no space: _SEP is a bare ",", and an item matches BARE exactly
            # when it is not empty — plain str.split does what the regexes below would.
            for item in text[start:].split(","):
                if not item:
                    return None
                end = pos + len(item)
                texts.append(item)
                spans.append(Span(pos, end))
                pos = end + 1
            return (text[: start - 1] if m else None), tuple(texts), tuple(spans)
        for sep in self.sep_re.finditer(text, start):
            item = text[pos : sep.start()]
            if self.bare_re.fullmatch(item) is None:
                return None
            texts.append(item)
            spans.append(Span(pos, sep.start()))
            pos = sep.end()
        item = text[pos:]
        if self.bare_re.fullmatch(item) is None:
            return None
        texts.append(item)
        spans.append(Span(pos, len(text)))
        return (text[: start - 1] if m else None), tuple(texts), tuple(spans)

    def fast(self, text: str) -> RawValue | None:
        """The value if it has no quoted operand and parses cleanly; else ``None``."""
        split = self.split(text)
        if split is None:
            return None
        op, texts, spans = split
        operands = (RawOperand(t, False, s) for t, s in zip(texts, spans, strict=True))
        return RawValue(op, tuple(operands))

    def slow(self, text: str) -> RawValue:
        from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedToken

        try:
            result = self.lark.parse(text)
        except UnexpectedCharacters as e:
            pos = e.pos_in_stream or 0
            raise SyntaxProblem(_unexpected_char(text, pos), space=text[pos] == " ") from None
        except UnexpectedToken as e:
            raise SyntaxProblem(_unexpected_token(text, e.token)) from None
        except LarkError as e:  # pragma: no cover - every case above; keep Lark inside
            raise SyntaxProblem(f"cannot read '{text}'") from e
        assert isinstance(result, RawValue)
        return result


def _column_quote(text: str, pos: int) -> str:
    return f"at column {pos + 1} of '{text}'"


def _unexpected_char(text: str, pos: int) -> str:
    ch = text[pos]
    prev = text[pos - 1] if pos else ""
    where = _column_quote(text, pos)
    if ch == " ":
        return f"unexpected space {where}: spaces are allowed only directly around list commas"
    if ch == '"':
        if pos == 0 or prev in ", :":
            return f"unterminated quoted operand {where}: a closing '\"' is missing"
        return f"unexpected '\"' {where}: quote the whole operand, as in \"a\\\"b\""
    if ch == ",":
        return f"empty list item {where}"
    if prev == '"':
        return f"unexpected '{ch}' {where}: a quoted operand must be followed by ',' or the end"
    return f"unexpected '{ch}' {where}"  # pragma: no cover - the cases above are exhaustive


def _unexpected_token(text: str, token: Token) -> str:
    pos = token.start_pos if token.start_pos is not None else len(text)
    if token.type == "$END":
        if text.endswith(":"):
            return f"missing operand after '{text}': expected a value after the ':'"
        return f"empty list item at the end of '{text}'"
    if token.type == "_SEP":
        return f"empty list item {_column_quote(text, pos)}"
    if pos and text[pos - 1] == '"':
        return (
            f"unexpected '{token}' {_column_quote(text, pos)}: a quoted operand must be "
            "followed by ',' or the end"
        )
    return f"unexpected '{token}' {_column_quote(text, pos)}"  # pragma: no cover


@cache
def _parser() -> _Parser:
    return _Parser()


def parse_value(text: str) -> RawValue:
    """Split one decoded filter value; raises :class:`SyntaxProblem`."""
    if not text:
        raise SyntaxProblem("empty value '': expected OP:VALUE such as eq:5, or a bare value")
    p = _parser()
    return p.fast(text) or p.slow(text)


def split_unquoted(text: str) -> Split | None:
    """The fast path alone, without building :class:`RawOperand` objects: ``(operator name
    or None, operand texts, their spans)`` when no operand is quoted and ``text`` parses
    cleanly (then :func:`parse_value` would give the same, all unquoted); else ``None``."""
    return _parser().split(text)
