"""One upstream answer -> a normalised document, or the precise error it means.

Pure: the answer was already received; this decides what it says.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from typing import Any, Final

from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.model import UpstreamResponse, ValidationMode
from dlf_status.domain.normalize import Source, normalise
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

JOB_NOT_FOUND_CODE = "DLF.0100"
# The bounds on what one answer may cost beyond its JSON (README: "Bounds on one answer").
MAX_NODES: Final = 10_000
# The upstream's words end up in our problem documents and logs: keep them short
# and printable.
_MAX_UPSTREAM_TEXT = 300
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Error body spellings, in the order the SDK tries them.
_ERROR_SPELLINGS = (("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message"))


def _clean(value: Any) -> str | None:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = _UNPRINTABLE.sub(" ", str(value)).strip()
    return text[:_MAX_UPSTREAM_TEXT] or None


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def error_info(response: UpstreamResponse, now: datetime) -> UpstreamErrorInfo:
    """What the upstream said about a failure, from whichever error spelling it used."""
    code = message = request_id = None
    try:
        body = jsoncodec.loads(response.body) if response.body else None
    except jsoncodec.JsonDecodeError:
        body = None
    if isinstance(body, dict):
        for code_key, message_key in _ERROR_SPELLINGS:
            if code_key in body or message_key in body:
                code, message = _clean(body.get(code_key)), _clean(body.get(message_key))
                break
        request_id = _clean(body.get("request_id"))
    return UpstreamErrorInfo(
        http_status=response.status,
        error_code=code,
        error_msg=message,
        request_id=request_id or _clean(response.headers.get("X-Request-Id")),
        retry_after_seconds=retry_after_seconds(response.headers.get("Retry-After"), now),
    )


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


def classify_error(response: UpstreamResponse, source: Source, now: datetime) -> UpstreamError:
    """The error a non-200 answer means. Decided by status and error code only."""
    info = error_info(response, now)
    status, said = response.status, _said(info)
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


def _success_info(response: UpstreamResponse) -> UpstreamErrorInfo:
    return UpstreamErrorInfo(
        http_status=200, request_id=_clean(response.headers.get("X-Request-Id"))
    )


def interpret_response(
    response: UpstreamResponse,
    *,
    source: Source,
    observed_at: datetime,
    validator: ResponseValidator,
    mode: ValidationMode,
) -> dict[str, Any]:
    """The normalised document for a 200, or raise the `UpstreamError` the answer means."""
    if response.status != 200:
        raise classify_error(response, source, observed_at)
    try:
        body = jsoncodec.loads(response.body)
    except jsoncodec.JsonDecodeError as exc:
        raise UpstreamBadResponse(
            f"DataArts Studio's 200 answer is not JSON ({response.mimetype or 'no content type'}): "
            f"{str(exc)[:120]}",
            _success_info(response),
        ) from None
    if not isinstance(body, dict):
        raise UpstreamBadResponse(
            f"DataArts Studio's 200 answer is a JSON {type(body).__name__}, not an object",
            _success_info(response),
        )
    report = validator.validate(response, body)
    document = normalise(
        body,
        source=source,
        observed_at=observed_at,
        report=report,
        mode=mode,
    )
    violations = document["validation"]["violations"]
    if mode is ValidationMode.STRICT and violations:
        first = violations[0]
        raise ContractViolation(
            f"DataArts Studio's answer breaks the contract at {first['path']}: {first['message']}"
            + (f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""),
            tuple((item["path"], item["message"]) for item in violations),
        )
    return document
