"""opfilter's exceptions.  No parser (Lark) type ever leaves the library."""

from __future__ import annotations

from typing import Any

__all__ = ["INVALID_DATA_MESSAGE", "InvalidQuery", "OpfilterError"]

INVALID_DATA_MESSAGE = "You provided invalid data. Check 'failures' for details."


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
