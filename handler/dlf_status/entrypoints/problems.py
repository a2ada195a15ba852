"""The one place where errors become HTTP statuses, RFC 9457 problems and exit codes.

Lookup is by exception class (most specific first, through the MRO), never by name
or message text: a subclass answers as its parent does until it gets a row of its
own. Every class of `errors.py` is decided here (a test keeps the two in step); the
retry policy lives on the classes themselves (`errors.is_retryable`).
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from dlf_status import errors
from dlf_status.observability import logger

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
PROBLEM_TYPE_PREFIX: Final = "urn:dlf-status:problem:"


class ExitCode:
    """CLI exit codes, documented in the README."""

    OK = 0
    VIOLATIONS = 1  # `validate` found contract violations; `poll` had a failed job
    BAD_INPUT = 2
    JOB_NOT_FOUND = 3
    UPSTREAM_FAILURE = 4
    STORE_FAILURE = 5
    INTERNAL = 70  # EX_SOFTWARE: a bug, reported with a correlation id
    OUTPUT_FAILED = 74  # EX_IOERR: the results could not be written (stdout closed, full)
    INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C, as a shell reports it
    READER_GONE = 141  # 128 + SIGPIPE: stdout's reader went away (`| head -1`)


class ErrorMapping(NamedTuple):
    http_status: int
    slug: str
    title: str
    exit_code: int

    @property
    def problem_type(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.slug


_MAPPINGS: Final[dict[type[errors.DlfStatusError], ErrorMapping]] = {
    errors.InvalidInput: ErrorMapping(400, "invalid-input", "Invalid input", ExitCode.BAD_INPUT),
    errors.RouteNotFound: ErrorMapping(404, "route-not-found", "No such route", ExitCode.BAD_INPUT),
    errors.MethodNotAllowed: ErrorMapping(
        405, "method-not-allowed", "Method not allowed", ExitCode.BAD_INPUT
    ),
    # `serve`'s refusals of what it cannot frame (a 400 stays `invalid-input`) or hold.
    errors.RequestTargetTooLong: ErrorMapping(
        414, "request-target-too-long", "Request target too long", ExitCode.BAD_INPUT
    ),
    errors.RequestHeadersTooLarge: ErrorMapping(
        431, "request-headers-too-large", "Request headers too large", ExitCode.BAD_INPUT
    ),
    errors.HttpVersionNotSupported: ErrorMapping(
        505, "http-version-not-supported", "HTTP version not supported", ExitCode.BAD_INPUT
    ),
    # Never a CLI outcome (`serve` answers it); its exit code is retry-later's.
    errors.ServerBusy: ErrorMapping(
        503, "server-busy", "Too many connections", ExitCode.UPSTREAM_FAILURE
    ),
    errors.ConfigurationError: ErrorMapping(
        500, "configuration", "dlf-status is misconfigured", ExitCode.BAD_INPUT
    ),
    errors.JobNotFound: ErrorMapping(404, "job-not-found", "Job not found", ExitCode.JOB_NOT_FOUND),
    errors.UpstreamAuthRejected: ErrorMapping(
        502,
        "upstream-auth-rejected",
        "Upstream rejected our credentials",
        ExitCode.UPSTREAM_FAILURE,
    ),
    errors.UpstreamTimeout: ErrorMapping(
        504, "upstream-timeout", "Upstream timed out", ExitCode.UPSTREAM_FAILURE
    ),
    # Our memory, not the upstream's failure: the same request, a little later.
    errors.LargeAnswersBusy: ErrorMapping(
        503,
        "large-answers-busy",
        "Too many large upstream answers at once",
        ExitCode.UPSTREAM_FAILURE,
    ),
    errors.ContractViolation: ErrorMapping(
        502, "contract-violation", "Upstream answer breaks the contract", ExitCode.UPSTREAM_FAILURE
    ),
    errors.UpstreamError: ErrorMapping(
        502, "upstream-failure", "Upstream failure", ExitCode.UPSTREAM_FAILURE
    ),
    errors.StoreError: ErrorMapping(
        500, "store-failure", "Snapshot store failure", ExitCode.STORE_FAILURE
    ),
    # A read with no time left for its first store calls: the same request, later.
    errors.StoreTooSlow: ErrorMapping(
        503, "store-too-slow", "Snapshot store too slow to answer in time", ExitCode.STORE_FAILURE
    ),
    # The bounds of one read of the store (the read models): narrow the query.
    errors.ReadLimitExceeded: ErrorMapping(
        422, "read-limit-exceeded", "The query reads more than one request may", ExitCode.BAD_INPUT
    ),
    # Our own outputs beside the store: written, like a snapshot, or not.
    errors.EventPublishError: ErrorMapping(
        500, "event-publish-failure", "Event bus failure", ExitCode.STORE_FAILURE
    ),
    errors.QueueError: ErrorMapping(
        500, "queue-failure", "Fan-out queue failure", ExitCode.STORE_FAILURE
    ),
    # Raised to fail an invocation (a schedule, a queued job), never answered to a
    # caller; mapped all the same, so that no error of ours is ever `internal`.
    errors.TickFailed: ErrorMapping(
        500, "tick-failed", "The scheduled tick could not run", ExitCode.BAD_INPUT
    ),
    errors.RetryLater: ErrorMapping(
        503, "retry-later", "Try again later", ExitCode.UPSTREAM_FAILURE
    ),
}
_INTERNAL: Final = ErrorMapping(500, "internal", "Internal error", ExitCode.INTERNAL)
# The problems whose HTTP answer says when to ask again (Retry-After, in seconds): a
# slow store is seldom slow for long, and a few seconds keep retries from piling on.
_RETRY_AFTER_SECONDS: Final[dict[type[errors.DlfStatusError], int]] = {
    errors.StoreTooSlow: 5,
    errors.LargeAnswersBusy: 5,
}


def mapping_for(error: BaseException) -> ErrorMapping:
    return mapping_for_class(type(error))


def mapping_for_class(error_class: type[BaseException]) -> ErrorMapping:
    """The row of the class or of its nearest ancestor that has one; a bug's otherwise."""
    for cls in error_class.__mro__:
        found = _MAPPINGS.get(cls)
        if found is not None:
            return found
    return _INTERNAL


def retry_after_seconds(error: BaseException) -> int | None:
    """The Retry-After of `error`'s HTTP answer (its class's or nearest ancestor's);
    None: the answer has none."""
    for cls in type(error).__mro__:
        found = _RETRY_AFTER_SECONDS.get(cls)
        if found is not None:
            return found
    return None


def problem_document(
    error: BaseException, *, instance: str | None = None, correlation_id: str | None = None
) -> dict[str, Any]:
    """RFC 9457 problem details, with what the upstream said when it said anything.

    An error that is not ours (a bug) gets a generic detail: its text could hold
    anything, so it goes to the log, not to the caller.
    """
    mapping = mapping_for(error)
    detail = (
        error.detail
        if isinstance(error, errors.DlfStatusError)
        else ("an unexpected error occurred; it has been logged")
    )
    problem: dict[str, Any] = {
        "type": mapping.problem_type,
        "title": mapping.title,
        "status": mapping.http_status,
        "detail": detail,
    }
    if instance is not None:
        problem["instance"] = instance
    if correlation_id is not None:
        problem["correlation_id"] = correlation_id
    if isinstance(error, errors.InvalidInput) and error.field:
        problem["field"] = error.field
    if isinstance(error, errors.UpstreamError):
        info = error.info
        upstream = {
            "upstream_status": info.http_status,
            "error_code": info.error_code,
            "error_msg": info.error_msg,
            "request_id": info.request_id,
        }
        problem.update({key: value for key, value in upstream.items() if value is not None})
    if isinstance(error, errors.ContractViolation):
        problem["violations"] = [
            {"path": path, "message": message} for path, message in error.violations
        ]
    return problem


def logged_problem(
    error: BaseException, *, instance: str | None = None, correlation_id: str | None = None
) -> dict[str, Any]:
    """The problem document for `error`, logged on the way: a 5xx as an error, a
    caller's mistake as information, a bug with its traceback (never in the answer)."""
    if isinstance(error, errors.DlfStatusError):
        log = logger.error if mapping_for(error).http_status >= 500 else logger.info
        log("request failed", extra={"error": type(error).__name__, "detail": error.detail})
    else:
        logger.exception("unexpected error")
    return problem_document(error, instance=instance, correlation_id=correlation_id)
