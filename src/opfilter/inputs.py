"""The input forms of SPEC §3 → ``(name, value)`` pairs of decoded text.

A raw query string (``str`` or ``bytes``) is split on ``&`` and percent-decoded once, here;
already-decoded input (a mapping, ``multi_items()``, ``getlist()``, or pairs) is never
decoded again.  A segment whose percent-decoding is not UTF-8 becomes an
:class:`Undecodable` holding its raw text, so the caller can say which parameter it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeAlias
from urllib.parse import unquote, unquote_to_bytes

__all__ = ["Pair", "QueryInput", "Undecodable", "decode", "pairs", "raw_length", "split_raw"]


class _MultiItems(Protocol):
    def multi_items(self) -> Iterable[tuple[str, str]]: ...


class _GetList(Protocol):
    def keys(self) -> Iterable[str]: ...
    def getlist(self, key: str) -> list[str]: ...


QueryInput: TypeAlias = (
    str | bytes | Mapping[str, str | Iterable[str]] | _MultiItems | _GetList
    | Iterable[tuple[str, str]]
)
"""What :func:`~opfilter.parse_query` takes (SPEC §3's input forms)."""


class Undecodable:
    """A raw segment whose percent-decoding is not UTF-8."""

    __slots__ = ("raw",)

    def __init__(self, raw: str) -> None:
        self.raw = raw


# What clients commonly escape in filter values; see decode.
_COMMON_ESCAPES = (("%3A", ":"), ("%2C", ","), ("%2B", "+"), ("%20", " "), ("%22", '"'))


def decode(part: str) -> str | Undecodable:
    """One raw segment: ``+`` is a space, percent-escapes are UTF-8, ``%ZZ`` stays as it is;
    the same text as ``unquote(part.replace("+", " "), errors="strict")``."""
    if "%" not in part and "+" not in part:
        return part
    if "%" in part:
        # Fast path, same result as unquote(): when every "%" starts one of the escapes
        # above, replacing them is the whole decoding (no replacement makes a new "%XX").
        quick = part.replace("+", " ")
        for escape, char in _COMMON_ESCAPES:
            if escape in quick:
                quick = quick.replace(escape, char)
        if "%" not in quick:
            return quick
    try:
        return unquote(part.replace("+", " "), errors="strict")
    except UnicodeDecodeError:
        return Undecodable(part)


def _decode_bytes(part: bytes) -> str | Undecodable:
    try:
        return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return Undecodable(part.decode("utf-8", "backslashreplace"))


Pair: TypeAlias = "tuple[str | Undecodable, str | Undecodable]"


def raw_length(query: str | bytes) -> int:
    """The length SPEC §3's limit counts: characters of the raw (still percent-encoded)
    query string, without a leading ``?``.  Bytes count as the characters they decode to
    as UTF-8 (a byte that is not UTF-8 counts as one character)."""
    n = len(query)
    if isinstance(query, bytes):
        if query.startswith(b"?"):
            n -= 1
        if query.isascii():
            return n
        body = query[1:] if query.startswith(b"?") else query
        return len(body.decode("utf-8", "surrogateescape"))
    return n - 1 if query.startswith("?") else n


def split_raw(query: str | bytes) -> list[Pair]:
    """A raw query string → decoded pairs (a leading ``?`` stripped, empty segments
    skipped, a segment without ``=`` an empty value)."""
    out: list[Pair] = []
    if isinstance(query, bytes):
        if query.startswith(b"?"):
            query = query[1:]
        for seg in query.split(b"&"):
            if seg:
                name, _, value = seg.partition(b"=")
                out.append((_decode_bytes(name), _decode_bytes(value)))
        return out
    if query.startswith("?"):
        query = query[1:]
    for part in query.split("&"):  # (names unlike the bytes branch's, for the type checker)
        if part:
            key, _, text = part.partition("=")
            # decode's own first test, inlined: most names and many values need nothing
            out.append((
                key if "%" not in key and "+" not in key else decode(key),
                text if "%" not in text and "+" not in text else decode(text),
            ))
    return out


def pairs(query: Any) -> list[Pair]:
    """Already-decoded input forms → (name, value) pairs, never decoded again."""
    if hasattr(query, "multi_items"):
        items: Iterable[Any] = query.multi_items()
    elif hasattr(query, "getlist"):
        items = [(k, v) for k in list(query) for v in query.getlist(k)]
    elif isinstance(query, Mapping):
        items = [
            (k, v)
            for k, vs in query.items()
            for v in ([vs] if isinstance(vs, str | bytes) else vs)
        ]
    else:
        items = query
    out: list[Pair] = []
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError(
                f"query pairs must be (name, value) tuples of strings, got {item!r}"
            ) from None
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(
                f"query names and values must be strings, got ({name!r}, {value!r})"
            )
        out.append((name, value))
    return out
