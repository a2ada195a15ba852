"""The one exception hierarchy of dlf-status.

Every failure a caller can meet is one of these classes. They carry data, not
only a message, so the entry points can map them to an HTTP status, an RFC 9457
problem document or a CLI exit code in one place (`entrypoints/problems.py`)
without reading message text.

Each class also carries its retry policy, `retryable`: whether the same work, tried
again later unchanged, may succeed (the cause is passing, or lies outside the request:
an outage, throttling, a deployment being fixed). It is read from the exception
object where the failure is caught (`is_retryable`), before anything is flattened
to text, and a subclass inherits its parent's. A retry is opt-in: the base class
says no, because retrying blindly can do harm (five failed signatures lock an AK).
"""

from __future__ import annotations

from typing import NamedTuple


def one_line(text: str, limit: int = 300) -> str:
    """`text` as one printable line of at most `limit` characters, then "..." if it was
    cut: what may be shown to a person (an error line, a problem detail) when the text
    came from outside. Escaped first (a control character as Python writes it: `\n`,
    `\x1b`, up to ten characters for one), then cut, so the limit holds."""
    shown = text[:limit]  # escaping never shortens: the rest cannot fit
    if not shown.isprintable():
        shown = "".join(char if char.isprintable() else repr(char)[1:-1] for char in shown)
    return shown[:limit] + ("..." if len(text) > limit or len(shown) > limit else "")


class DlfStatusError(Exception):
    """Base class: something dlf-status could not do, said in one line."""

    retryable: bool = False

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DlfStatusError):
    """The caller's input (path, event, file, flag) is not acceptable."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class RouteNotFound(InvalidInput):
    """An HTTP path that is not `GET /v1/{project_id}/jobs/{job_name}/status`."""


class MethodNotAllowed(InvalidInput):
    """The route exists; only GET is served."""


class RequestNotReadable(InvalidInput):
    """`dlf-status serve` cannot read the request as HTTP/1.1 (its framing: the request
    line, a header, Content-Length): answered, then the connection is closed. A
    subclass per refusal that has its own HTTP status."""


class RequestTargetTooLong(RequestNotReadable):
    """The request line is longer than `serve` reads (414)."""


class RequestHeadersTooLarge(RequestNotReadable):
    """Too many header lines, or one too long (431)."""


class HttpVersionNotSupported(RequestNotReadable):
    """An HTTP version `serve` does not speak (505)."""


class ServerBusy(DlfStatusError):
    """`dlf-status serve` has no free connection slot: the client may try again soon."""

    retryable = True


class ConfigurationError(DlfStatusError):
    """The deployment is misconfigured (an environment variable, a secret).

    Retryable: a redeploy fixes it, so a queued job waits for it (and reaches the
    dead-letter queue, which raises an alarm) rather than being dropped."""

    retryable = True


class UpstreamErrorInfo(NamedTuple):
    """What the upstream said about its own failure, when it said anything."""

    http_status: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    request_id: str | None = None


class UpstreamError(DlfStatusError):
    """The DataArts Studio endpoint did not give a usable status. Retryable unless a
    subclass says otherwise: most upstream failures pass."""

    retryable = True

    def __init__(self, detail: str, info: UpstreamErrorInfo | None = None) -> None:
        super().__init__(detail)
        self.info = info or UpstreamErrorInfo()


class JobNotFound(UpstreamError):
    """The upstream says the job does not exist (DLF.0100)."""

    retryable = False


class UpstreamAuthRejected(UpstreamError):
    """The upstream rejected our credentials or signature (401/403).

    Never retried: five failed signatures lock an AK for five minutes.
    """

    retryable = False


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within the deadline."""


class UpstreamThrottled(UpstreamError):
    """The upstream kept answering 429 after our retries."""


class UpstreamUnavailable(UpstreamError):
    """Connection refused or reset, or a 5xx after our retries."""


class UpstreamRejected(UpstreamError):
    """The upstream refused the request for another reason (a 4xx)."""

    retryable = False


class UpstreamBadResponse(UpstreamError):
    """The answer is unusable: not JSON, truncated, oversized or of the wrong shape.
    Retryable: a body cut short or a gateway's error page is usually passing."""


class LargeAnswersBusy(UpstreamError):
    """The answer grew past the size that may be processed freely, and no permit to
    process a large answer came free before the call's deadline: the process's
    memory is taken by the large answers already in hand (adapters/answer_budget.py).
    Retryable: the next try (the next tick) finds the permits free."""


class IncompleteJobList(UpstreamError):
    """The job list could not be read whole: more jobs or requests than its bounds,
    or a service that does not page. A partial list is never taken for the whole.
    Not retryable: the same list passes the same bounds again."""

    retryable = False


class ContractViolation(UpstreamError):
    """Strict mode: the answer breaks `openapi.yaml`."""

    retryable = False

    def __init__(self, detail: str, violations: tuple[tuple[str, str], ...]) -> None:
        super().__init__(detail)
        self.violations = violations


class StoreError(DlfStatusError):
    """The snapshot store failed (unreachable, denied, throttled)."""

    retryable = True


class StoreFileSystemError(StoreError):
    """The local directory store's file system refused an operation (no space, a file
    too large for its limit, read-only, no descriptor left, a file where a directory
    belongs). `errno_name` is the refusal (`ENOSPC`), `key` the object it was for:
    what an operator needs, and neither the root's path nor a traceback. Retryable, as
    any store failure: space is freed, a mount is fixed, descriptors are closed."""

    def __init__(self, detail: str, *, errno_name: str, key: str) -> None:
        super().__init__(detail)
        self.errno_name = errno_name
        self.key = key


class StoreConflict(StoreError):
    """A conditional write kept losing to concurrent writers."""


class ClockAhead(StoreError):
    """This machine's clock is ahead of the upstream's: an observation timed by it
    would hold latest.json against every correct writer, so it is not stored."""


class TransitionDeferred(StoreError):
    """What is left of the invocation cannot cover a transition record's PUT and its
    event's publish at their worst: neither is started, so that Lambda's timeout cannot
    stop the writer between the two (the event would be lost). latest.json still owes
    the record, and the next writer publishes both. Raised when the record is owed by
    the latest.json this write would replace: replacing it first would lose the record."""


class WriteOutcomeUnknown(StoreError):
    """A create-only PUT may have been applied (an attempt went unanswered, or was
    answered 5xx) and nothing could tell whether the object there is this call's: the
    HEAD that would tell failed, or found no object while an attempt may still land.
    A writer that must act once per object it created (a transition's event) acts."""


class ConditionalWritesIgnored(StoreError):
    """The store accepts conditional writes but does not honour them (or refuses them):
    with SNAPSHOT_CONSISTENCY=strict, dlf-status writes nothing to it. Retryable, as a
    configuration error is: the deployment (or the store) may be fixed meanwhile."""


class UserMetadataDropped(StoreError):
    """The store does not keep the user metadata written with an object: latest.json
    could not name the transition record it owes. With SNAPSHOT_CONSISTENCY=strict,
    dlf-status writes nothing to it; retryable, as `ConditionalWritesIgnored` is."""


class StoreTooSlow(StoreError):
    """A read of the store has no time left in the invocation for even its first
    calls at their worst (the store answers slowly): nothing is answered but this, and
    the same request may pass once the store is quick again. Retryable, as any store
    failure."""


class ReadLimitExceeded(DlfStatusError):
    """A read of the store would pass one of the bounds a request may use (keys listed,
    date partitions of one day): narrow the query. `limit` is the bound passed.
    Not retryable: the same query passes the same bound again."""

    def __init__(self, detail: str, *, limit: int) -> None:
        super().__init__(detail)
        self.limit = limit


class EventPublishError(DlfStatusError):
    """A transition event was not accepted by the event bus. `retryable`, decided per
    error by the publisher: the same event may be published again later (throttling,
    an outage), not when the bus refused it for good (access denied, malformed, too
    large)."""

    def __init__(self, detail: str, *, retryable: bool, error_code: str | None = None) -> None:
        super().__init__(detail)
        self.retryable = retryable
        self.error_code = error_code


class QueueError(DlfStatusError):
    """The fan-out queue refused a batch (unreachable, denied, throttled), or one
    message of it. Not a store failure: a tick reports the jobs it could not hand over
    as failed. Retryable, unless the queue says the message itself is at fault
    (SQS's SenderFault): then `retryable` is False for that error."""

    retryable = True

    def __init__(self, detail: str, *, retryable: bool = True) -> None:
        super().__init__(detail)
        self.retryable = retryable


class TickFailed(DlfStatusError):
    """A scheduled tick could not run at all (no job list, an unreadable one, the
    configuration): the invocation fails, so that Lambda retries it and then sends it
    to the on-failure destination. Lambda's asynchronous retries do not read
    `retryable`: it is set for the policy table (every class decides), nothing more."""

    retryable = True


class RetryLater(DlfStatusError):
    """A queued job failed in a way a later try may mend: the queue entry point raises
    it so that SQS delivers the message again (and, after the last receipt, to the
    dead-letter queue)."""

    retryable = True


def is_retryable(error: BaseException) -> bool:
    """The retry policy of `error`, read from the object. An error that is not ours (a
    bug) is retried: a queued job then ends in the dead-letter queue, kept for a look,
    rather than dropped."""
    if isinstance(error, DlfStatusError):
        return error.retryable
    return True
