"""Recorded exchanges: one upstream answer kept as a JSON file.

The format of `contract_tests/fixtures/` and of the demo's replay upstream:

    {"source": "where this shape comes from, one line",
     "operation": "ListJobs",           # optional: the spec's operationId, ShowJobStatus if absent
     "status": 200,
     "headers": {"Content-Type": "application/json;charset=UTF-8"},
     "body": <any JSON value>}          # or "body_text": "<raw text>"

`body` is served as JSON text; `body_text` verbatim, for answers that are not JSON.
`operation` says which call the answer belongs to, so that it is checked against
the right part of the contract.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final
from urllib.parse import urlsplit

from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import OPERATIONS, SHOW_JOB_STATUS
from dlf_status.domain.model import Headers, UpstreamResponse
from dlf_status.domain.redaction import MASK, Redactor, transformed_forms
from dlf_status.errors import InvalidInput, one_line

_REQUIRED = ("status", "headers")


@dataclass(frozen=True)
class RecordedExchange:
    source: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    operation: str = SHOW_JOB_STATUS.operation_id

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
    _refuse_repeated_header(headers)
    if "body" in data and "body_text" in data:
        raise InvalidInput(
            "a recorded exchange holds body or body_text, not both: one of them would be lost"
        )
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
    operation = data.get("operation", SHOW_JOB_STATUS.operation_id)
    if not isinstance(operation, str) or operation not in OPERATIONS:
        known = ", ".join(sorted(OPERATIONS))
        shown = operation if isinstance(operation, str) else type(operation).__name__
        raise InvalidInput(f"operation must be one of {known}, got {shown[:64]!r}")
    source = data.get("source")
    return RecordedExchange(
        source=source if isinstance(source, str) else "",
        status=status,
        headers=dict(headers),
        body=body,
        operation=operation,
    )


def _refuse_repeated_header(headers: Mapping[str, str]) -> None:
    """Header names ignore case (`Headers` keeps one value per name): two members that
    differ only in case would lose one value, silently, and a check would see the other."""
    seen: set[str] = set()
    for name in headers:
        lowered = name.lower()
        if lowered in seen:
            shown = json.dumps(name[:60], ensure_ascii=False)
            raise InvalidInput(
                f"headers name {one_line(shown, 80)} twice (header names ignore case): "
                "one of its values would be lost"
            )
        seen.add(lowered)


# -- a recorded body that repeats a member name ------------------------------------------
#
# `jsoncodec.loads` refuses JSON whose objects repeat a name (whichever value a reader
# kept, the other would be lost). In a recorded exchange that is a property of the
# answer, not of the file: `validate` must report it as the hot path does (the member,
# where), so the exchange is read once more, keeping every member of the body as it was
# written, and the body's text is rebuilt with the repeat still in it.


class _Members(list[tuple[str, Any]]):
    """One object's members in their order, repeats kept."""


class _Number(str):
    """A number's text as written: the rebuilt body says what the file said."""


def _first_repeat_outside(value: Any, skipped: str) -> str | None:
    """The first name an object of `value` repeats, not looking into the top-level
    member `skipped`."""
    pending: list[Any] = [value]
    top = True
    while pending:
        item = pending.pop()
        if isinstance(item, _Members):
            seen: set[str] = set()  # a set: a hostile file's 100,000 members stay linear
            for name, _ in item:
                if name in seen:
                    return name
                seen.add(name)
            pending.extend(child for name, child in item if not (top and name == skipped))
        elif isinstance(item, list):
            pending.extend(item)
        top = False
    return None


def _plain(value: Any) -> Any:
    """`value` with its objects as dicts (the last of repeated names kept)."""
    if isinstance(value, _Members):
        return {name: _plain(child) for name, child in value}
    if isinstance(value, list):
        return [_plain(child) for child in value]
    if isinstance(value, _Number):
        return float(value) if any(mark in value for mark in ".eE") else int(value)
    return value


def _text(value: Any) -> str:
    """JSON text of `value`, every member kept in its order."""
    if isinstance(value, _Members):
        return "{" + ",".join(f"{json.dumps(name)}:{_text(child)}" for name, child in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_text(child) for child in value) + "]"
    if isinstance(value, _Number):
        return str.__str__(value)
    return json.dumps(value, ensure_ascii=False)


def exchange_keeping_repeats(data: bytes) -> RecordedExchange | None:
    """The recorded exchange in `data`, whose `body` repeats a member name (which
    `jsoncodec.loads` just refused: `data` is JSON within the bounds), with that body's
    text keeping every member; None when `data` is not a recorded exchange (a raw
    body). InvalidInput when a name repeats outside the body: the exchange itself is
    ambiguous."""
    value = json.loads(
        data.decode("utf-8"),
        object_pairs_hook=_Members,
        parse_int=_Number,
        parse_float=_Number,
    )
    exchange = _plain(value)
    if not is_recorded_exchange(exchange):
        return None
    repeated = _first_repeat_outside(value, "body")
    if repeated is not None:
        shown = json.dumps(repeated[:60])
        raise InvalidInput(
            f"the recorded exchange repeats the member {shown} outside its body: "
            "one of its values would be lost"
        )
    if "body" in exchange and "body_text" not in exchange:
        exchange["body_text"] = _text(_member(value, "body"))
        del exchange["body"]
    return exchange_from_json(exchange)


def _member(members: _Members, name: str) -> Any:
    return next(child for key, child in members if key == name)


# -- recording a live answer (`dlf-status record`) -------------------------------------

# Header names that may carry a credential, a signature, a token or a session, in any
# spelling: none is written, whatever its value. Matched as parts of the lower-cased
# name, so `X-Auth-Token`, `X-Security-Token`, `X-Subject-Token`, `Set-Cookie`,
# `Proxy-Authorization` and `WWW-Authenticate` all go.
SENSITIVE_HEADER_PARTS: Final = (
    "auth",
    "token",
    "cookie",
    "signature",
    "secret",
    "credential",
    "password",
    "session",
    "api-key",
    "apikey",
    "x-sdk-date",
)
# What frames the bytes on the wire: the body written is the decoded one, and a replay
# frames it anew (a kept Content-Encoding: gzip would describe bytes no longer there).
FRAMING_HEADERS: Final = frozenset(
    {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive"}
)
# What an echoed Authorization header holds beside our AK: the request's signature and
# the signed header list (`Access=..., SignedHeaders=..., Signature=...`).
_SIGNATURE_PARTS = re.compile(r"(?i)\b(access|signature|signedheaders)=[^,;\s\"'&<>]+")
_REGION_HOST = re.compile(r"dayu(?:-dlf)?\.([a-z0-9-]+)\.myhuaweicloud\.com")


def recording_redactor(secrets: Iterable[str]) -> Redactor:
    """A masker of `secrets` in every form the log masker knows, and of their hex and
    base64 forms (`transformed_forms`) as texts of their own, in every one of those: a
    recording leaves this machine, so it is masked for more than a log line is."""
    known = tuple(secrets)
    return Redactor([*known, *(form for secret in known for form in transformed_forms(secret))])


def is_sensitive_header(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SENSITIVE_HEADER_PARTS)


def scrub_text(text: str, redactor: Redactor) -> str:
    """`text` with our credentials masked (every form the redactor knows) and any
    signature parts an echoed Authorization header would carry."""
    return _SIGNATURE_PARTS.sub(lambda found: f"{found[1]}={MASK}", redactor.text(text))


def scrub_value(value: Any, redactor: Redactor) -> Any:
    """A parsed JSON value scrubbed as `scrub_text` scrubs text: strings and keys
    (a key that becomes another key's name is suffixed, never merged)."""
    return _scrub_signatures(redactor.value(value))


def _scrub_signatures(value: Any) -> Any:
    if isinstance(value, str):
        return _SIGNATURE_PARTS.sub(lambda found: f"{found[1]}={MASK}", value)
    if isinstance(value, list):
        return [_scrub_signatures(item) for item in value]
    if not isinstance(value, dict):
        return value
    scrubbed: dict[str, Any] = {}
    renamed: list[tuple[str, Any]] = []
    for key, item in value.items():
        name = _scrub_signatures(key)
        if name == key:
            scrubbed[key] = _scrub_signatures(item)
        else:
            renamed.append((name, item))
    for name, item in renamed:
        while name in scrubbed or name in value:
            name += "~"
        scrubbed[name] = _scrub_signatures(item)
    return scrubbed


def region_of(endpoint: str) -> str:
    """The region an endpoint's host names (`dayu-dlf.<region>.myhuaweicloud.com`), or
    what the host is when it names none."""
    host = urlsplit(endpoint).hostname or ""
    found = _REGION_HOST.fullmatch(host)
    if found is not None:
        return found[1]
    return f"unknown (endpoint host {host})" if host else "unknown"


def recording(
    response: UpstreamResponse,
    *,
    operation: str,
    endpoint: str,
    recorded_on: date,
    redactor: Redactor,
) -> dict[str, Any]:
    """One live answer as a recorded exchange (the format above), with nothing in it
    that can authenticate: headers that may carry a credential, a token, a cookie or
    a signature are left out, every other value and the whole body are masked for our
    credentials and for signature parts."""
    headers = {
        scrub_text(name, redactor): scrub_text(value, redactor)
        for name, value in response.headers.items()
        if not is_sensitive_header(name) and name.lower() not in FRAMING_HEADERS
    }
    notes = []
    exchange: dict[str, Any] = {"operation": operation, "status": response.status}
    try:
        parsed = jsoncodec.loads(response.body)
    except jsoncodec.JsonDecodeError:
        text = response.body.decode("utf-8", errors="replace")
        if "\ufffd" in text and b"\xef\xbf\xbd" not in response.body:
            notes.append("bytes that are not UTF-8 replaced by U+FFFD")
        exchange["body_text"] = scrub_text(text, redactor)
    else:
        exchange["body"] = scrub_value(parsed, redactor)
    source = (
        f"recorded by dlf-status record on {recorded_on.isoformat()} from region "
        f"{region_of(endpoint)}: a live {operation} answer (HTTP {response.status})"
    )
    if notes:
        source += f"; {'; '.join(notes)}"
    return {"source": one_line(source, 500), **exchange, "headers": headers}
