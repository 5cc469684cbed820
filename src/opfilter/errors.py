"""opfilter's exceptions.  No parser (Lark) type ever leaves the library."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "CONTENT_TYPE",
    "INVALID_DATA_MESSAGE",
    "InvalidQuery",
    "OpfilterError",
    "compact_json",
    "utf8",
]

INVALID_DATA_MESSAGE = "You provided invalid data. Check 'failures' for details."

CONTENT_TYPE = "application/json; charset=utf-8"
"""The content type of every JSON answer (SPEC §6)."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8(text: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate (from already-decoded input) becomes U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def compact_json(obj: object) -> bytes:
    """The one JSON writer of every answer (SPEC §6): separators ``,`` and ``:``, UTF-8
    without ``\\u`` escapes, keys in the order given, no trailing newline."""
    return utf8(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))


class OpfilterError(Exception):
    """Base class of every exception opfilter raises on purpose."""


class InvalidQuery(OpfilterError, ValueError):
    """A query (or one filter value) is invalid.

    ``failures`` lists every problem as ``{"field": <parameter name>, "message": ...}`` in
    the order the parameters appear; ``body`` is the endpoint's 400 body.
    """

    def __init__(self, failures: list[dict[str, str]]) -> None:
        self.failures = failures
        super().__init__("; ".join(f["message"] for f in failures))

    @property
    def body(self) -> dict[str, Any]:
        return {
            "key": "invalid_data",
            "message": INVALID_DATA_MESSAGE,
            "failures": [dict(f) for f in self.failures],
        }

    def json(self) -> bytes:
        """The 400 body as bytes, exactly as the reference server writes it (serve it with
        :data:`CONTENT_TYPE`)."""
        return compact_json(self.body)
