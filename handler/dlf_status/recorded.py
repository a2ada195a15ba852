"""Recorded exchanges: one upstream answer kept as a JSON file.

The format of `contract_tests/fixtures/` and of the demo's replay upstream:

    {"source": "where this shape comes from, one line",
     "status": 200,
     "headers": {"Content-Type": "application/json;charset=UTF-8"},
     "body": <any JSON value>}          # or "body_text": "<raw text>"

`body` is served as JSON text; `body_text` verbatim, for answers that are not JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlf_status.domain.model import Headers, UpstreamResponse
from dlf_status.errors import InvalidInput

_REQUIRED = ("status", "headers")


@dataclass(frozen=True)
class RecordedExchange:
    source: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    def to_response(self) -> UpstreamResponse:
        return UpstreamResponse(status=self.status, headers=Headers(self.headers), body=self.body)


def is_recorded_exchange(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and all(key in data for key in _REQUIRED)
        and ("body" in data or "body_text" in data)
    )


def exchange_from_json(data: Any) -> RecordedExchange:
    """Read a recorded exchange; InvalidInput when the structure is not one."""
    if not is_recorded_exchange(data):
        raise InvalidInput(
            "not a recorded exchange: expected an object with status, headers and body or body_text"
        )
    status, headers = data["status"], data["headers"]
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        shown = status if isinstance(status, int) and abs(status) < 10**6 else type(status).__name__
        raise InvalidInput(f"status must be an HTTP status code (100 to 599), got {shown}")
    if not isinstance(headers, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in headers.items()
    ):
        raise InvalidInput("headers must be an object of strings")
    if "body_text" in data:
        if not isinstance(data["body_text"], str):
            raise InvalidInput("body_text must be a string")
        text = data["body_text"]
    else:
        # The standard library keeps integers beyond 64 bits exact.
        try:
            text = json.dumps(data["body"], ensure_ascii=False)
        except (RecursionError, ValueError):
            raise InvalidInput("body is nested too deep or holds a number too long") from None
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("the body holds a lone surrogate escape, which is not UTF-8") from None
    source = data.get("source")
    return RecordedExchange(
        source=source if isinstance(source, str) else "",
        status=status,
        headers=dict(headers),
        body=body,
    )
