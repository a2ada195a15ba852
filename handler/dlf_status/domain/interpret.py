"""One upstream answer -> a normalised document, or the precise error it means.

Pure: the answer was already received; this decides what it says.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from dlf_status.domain import jsoncodec, paths
from dlf_status.domain.contract import MAX_LISTED, ResponseValidator
from dlf_status.domain.model import UpstreamResponse, ValidationMode
from dlf_status.domain.normalize import Source, normalise
from dlf_status.domain.redaction import NO_SECRETS, Redactor
from dlf_status.errors import (
    ContractViolation,
    JobNotFound,
    UpstreamAuthRejected,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamErrorInfo,
    UpstreamRejected,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

if TYPE_CHECKING:
    from dlf_status.domain.documents import StatusDocument, Validation

JOB_NOT_FOUND_CODE = "DLF.0100"
# The bounds on what one answer may cost beyond its JSON (README: "Bounds on one answer").
MAX_NODES: Final = 5_000
# The upstream's words end up in our problem documents, CLI lines and logs: keep
# them short and printable (README: 300 printable characters).
MAX_UPSTREAM_TEXT: Final = 300
# Error body spellings, in the order the SDK tries them.
_ERROR_SPELLINGS = (("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message"))
_ERROR_MEMBERS: Final = frozenset(
    {*(key for spelling in _ERROR_SPELLINGS for key in spelling), "request_id"}
)
# An error answer sent as a 200 holds a member of one of these spellings and no job
# name: the gateway's, its camel case, the SDK's (all the spellings read above).
_ERROR_IN_A_200: Final = frozenset(key for spelling in _ERROR_SPELLINGS for key in spelling)
# Longer than any sane wait, short enough for float arithmetic: the cap applies anyway.
_FOREVER_SECONDS: Final = 1e9


def clean_text(
    value: str | None, redactor: Redactor = NO_SECRETS, limit: int = MAX_UPSTREAM_TEXT
) -> str | None:
    """Upstream text fit to echo: credentials masked, every character that is not
    printable (controls, separators, lone surrogates, bidi marks) made a space, then
    cut to `limit`. Masked before it is cut, so no credential is ever cut in half."""
    if value is None:
        return None
    head = value[: 4 * limit + redactor.longest]
    text = redactor.text(head)
    if len(head) < len(value):
        # The first cut may have split a credential, and masking shortens what comes
        # before it: drop the tail that could hold the rest of one.
        text = text[: len(text) - redactor.longest]
    if not text.isprintable():
        text = "".join(char if char.isprintable() else " " for char in text)
    return text.strip()[:limit].strip() or None


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now: delta-seconds (ASCII digits only) or an HTTP
    date (RFC 9110); None for anything else. Never raises."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or len(value) > 64:
        return None
    if value.isdigit():  # ASCII digits only: the value is ASCII
        return float(value) if len(value) <= 9 else _FOREVER_SECONDS
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, min(_FOREVER_SECONDS, (when - now).total_seconds()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class _ErrorAnswer(NamedTuple):
    info: UpstreamErrorInfo
    repeated: str | None  # a member name the body repeats: then no member was read


def _read_error(response: UpstreamResponse, redactor: Redactor) -> _ErrorAnswer:
    code = message = request_id = None
    from dlf_status.domain.errorbody import read_members  # only for error answers

    members, repeated = read_members(response.body, _ERROR_MEMBERS) if response.body else ({}, None)
    if repeated is None:  # a body that repeats a name says nothing we can take
        for code_key, message_key in _ERROR_SPELLINGS:
            if code_key in members or message_key in members:
                code = clean_text(members.get(code_key), redactor)
                message = clean_text(members.get(message_key), redactor)
                break
        request_id = clean_text(members.get("request_id"), redactor)
    info = UpstreamErrorInfo(
        http_status=response.status,
        error_code=code,
        error_msg=message,
        request_id=request_id or clean_text(response.headers.get("X-Request-Id"), redactor),
    )
    return _ErrorAnswer(info, repeated)


def error_info(response: UpstreamResponse, redactor: Redactor = NO_SECRETS) -> UpstreamErrorInfo:
    """What the upstream said about a failure, from whichever error spelling it used.

    The body is read leniently (`errorbody.read_members`): whatever else it holds, a
    code it spells plainly is read, unless the body repeats a member name (then none
    is: see `classify_error`). Retry-After is the HTTP client's business (it waits,
    capped, between its own attempts): it is not part of what is reported."""
    return _read_error(response, redactor).info


def shown_name(name: str, redactor: Redactor = NO_SECRETS) -> str:
    """A member name of the upstream's, fit for a detail: masked, cleaned, cut, quoted."""
    if not name:
        return "the empty name"
    cleaned = clean_text(name, redactor, 60)
    if cleaned is None:
        return "a name of no printable character"
    return f'"{cleaned}"' + ("..." if len(cleaned) >= 60 else "")


def _said(info: UpstreamErrorInfo) -> str:
    parts = [part for part in (info.error_code, info.error_msg) if part]
    return f" ({': '.join(parts)})" if parts else ""


def _job_label(source: Source) -> str:
    label = f"job {source.job_name!r}" if source.job_name is not None else "the job"
    if source.project_id is not None:
        label += f" in project {source.project_id}"
    if source.workspace is not None:
        label += f", workspace {source.workspace}"
    return label


def classify_error(
    response: UpstreamResponse, source: Source, redactor: Redactor = NO_SECRETS
) -> UpstreamError:
    """The error a non-200 answer means. Decided by status and error code only.

    A body that repeats a member name (at any depth) is ambiguous: neither value is
    read. Where the status alone decides (401/403, 429, 5xx), the answer keeps its
    class, without a code; where only the code could (a 400 is DLF.0100 or a refusal),
    it is an upstream failure, never a missing job: the answer contradicts itself."""
    info, repeated = _read_error(response, redactor)
    status, said = response.status, _said(info)
    if repeated is not None:
        said = f" (its body repeats the member {shown_name(repeated, redactor)}: not read)"
        if status not in (401, 403, 429) and status < 500:
            return UpstreamBadResponse(
                f"DataArts Studio's error answer (HTTP {status}) repeats the member "
                f"{shown_name(repeated, redactor)} in one object: which value it means is "
                "unknown, so neither is read",
                info,
            )
    if status == 400 and info.error_code == JOB_NOT_FOUND_CODE:
        return JobNotFound(f"{_job_label(source)} does not exist{said}", info)
    if status in (401, 403):
        return UpstreamAuthRejected(
            f"DataArts Studio rejected dlf-status's credentials (HTTP {status}){said}; "
            "check the AK/SK or token, its permissions and the host clock",
            info,
        )
    if status == 429:
        return UpstreamThrottled(f"DataArts Studio is throttling requests{said}", info)
    if status == 504:
        return UpstreamTimeout(f"DataArts Studio's gateway timed out (HTTP 504){said}", info)
    if status >= 500:
        return UpstreamUnavailable(f"DataArts Studio failed (HTTP {status}){said}", info)
    if 200 <= status < 300:
        return UpstreamBadResponse(f"DataArts Studio answered HTTP {status} instead of 200", info)
    return UpstreamRejected(f"DataArts Studio refused the request (HTTP {status}){said}", info)


def _success_info(response: UpstreamResponse, redactor: Redactor) -> UpstreamErrorInfo:
    return UpstreamErrorInfo(
        http_status=200, request_id=clean_text(response.headers.get("X-Request-Id"), redactor)
    )


def parse_object(
    response: UpstreamResponse, redactor: Redactor, what: str = "200 answer"
) -> dict[str, Any]:
    """A 200 body as a JSON object within the bounds, credentials masked, or the
    UpstreamBadResponse that says why it is not one. `what` names the answer in the
    message (the status call's "200 answer", the job list's "job list page")."""
    try:
        body = jsoncodec.loads(response.body)
    except jsoncodec.JsonRepeatedName as exc:
        raise UpstreamBadResponse(
            f"DataArts Studio's {what} repeats the member {shown_name(exc.name, redactor)} "
            f"in one object (at {clean_text(exc.path, redactor, 120)}): one of its values "
            "would be lost, so the answer is refused",
            _success_info(response, redactor),
        ) from None
    except jsoncodec.JsonLimitExceeded as exc:
        raise UpstreamBadResponse(
            f"DataArts Studio's {what} is past the bounds on one answer: {exc}",
            _success_info(response, redactor),
        ) from None
    except jsoncodec.JsonDecodeError as exc:
        media = clean_text(response.mimetype, redactor, 80) or "no content type"
        raise UpstreamBadResponse(
            f"DataArts Studio's {what} is not JSON ({media}): "
            f"{clean_text(str(exc), redactor, 120)}",
            _success_info(response, redactor),
        ) from None
    if not isinstance(body, dict):
        raise UpstreamBadResponse(
            f"DataArts Studio's {what} is {jsoncodec.json_type(body)}, not an object",
            _success_info(response, redactor),
        )
    masked: dict[str, Any] = redactor.body(response.body, body)
    return masked


def _parse(response: UpstreamResponse, redactor: Redactor) -> dict[str, Any]:
    """The status answer's object, within the node bound too (checked before the
    validator and the normaliser build anything per node)."""
    body = parse_object(response, redactor)
    nodes = body.get("nodes")
    if isinstance(nodes, list) and len(nodes) > MAX_NODES:
        raise UpstreamBadResponse(
            f"DataArts Studio's 200 answer is past the bounds on one answer: it lists "
            f"{len(nodes):,} nodes, more than {MAX_NODES:,}",
            _success_info(response, redactor),
        )
    return body


def _is_error_answer(body: dict[str, Any]) -> bool:
    """An error answer sent with status 200: an error code or message of any spelling
    the SDK reads, and no job name string (the one member a job always has; a Java
    service writes an absent name as null). A job that also carries a code is a job;
    the code is one more unknown field."""
    return not isinstance(body.get("name"), str) and not _ERROR_IN_A_200.isdisjoint(body)


def _error_in_a_200(response: UpstreamResponse, redactor: Redactor) -> UpstreamBadResponse:
    """A 200 that is an error answer is an upstream failure, whatever its code says:
    stored, it would be a job of no status (a false transition for every job); a
    DLF.0100 in it is no proof that a job is gone, as the answer contradicts itself."""
    info = error_info(response, redactor)
    return UpstreamBadResponse(
        f"DataArts Studio's 200 answer is an error answer, not a job{_said(info)}", info
    )


def _list_at_most(validation: Validation) -> None:
    """Cut the violations and unknown fields past MAX_LISTED; a last violation says so."""
    violations = validation["violations"]
    unknown = validation["unknown_fields"]
    notes = []
    if len(unknown) > MAX_LISTED:
        notes.append(
            f"{len(unknown) - MAX_LISTED:,} more unknown fields are not listed "
            f"(at most {MAX_LISTED:,} are; their values are all in extra)"
        )
        del unknown[MAX_LISTED:]
    if len(violations) > MAX_LISTED:
        notes.append(
            f"{len(violations) - MAX_LISTED:,} or more further violations are not listed "
            f"(at most {MAX_LISTED:,} are)"
        )
        del violations[MAX_LISTED:]
    violations.extend({"path": paths.ROOT, "message": note} for note in notes)
    if notes:
        validation["valid"] = False


def interpret_response(
    response: UpstreamResponse,
    *,
    source: Source,
    observed_at: datetime,
    validator: ResponseValidator,
    mode: ValidationMode,
    redactor: Redactor = NO_SECRETS,
) -> StatusDocument:
    """The normalised document for a 200, or raise the `UpstreamError` the answer means.

    Never anything else: a body past the bounds on one answer is an UpstreamBadResponse
    before any of it is built, and everything after the parse takes whatever it accepts.
    """
    if response.status != 200:
        raise classify_error(response, source, redactor)
    body = _parse(response, redactor)
    if _is_error_answer(body):
        raise _error_in_a_200(response, redactor)
    report = validator.validate(response, body)
    document = normalise(
        body,
        source=source,
        observed_at=observed_at,
        report=report,
        mode=mode,
    )
    _list_at_most(document["validation"])
    violations = document["validation"]["violations"]
    if mode is ValidationMode.STRICT and violations:
        first = violations[0]
        raise ContractViolation(
            f"DataArts Studio's answer breaks the contract at {first['path']}: {first['message']}"
            + (f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""),
            tuple((item["path"], item["message"]) for item in violations),
        )
    return document
