"""Transition events to an EventBridge bus (PutEvents), as CloudEvents (domain/events.py).

boto3 is imported, and the `events` client made, at the first publish: a container
that serves only HTTP requests never pays for them.

One layer of retries, this module's, so that a publish has a worst case that is known
and small (`publish_worst_case`): a writer starts a transition record and its event
only with that much of the invocation left (service.py), and a Lambda timeout cannot
fall between the two. botocore makes one attempt per call (its standard retries would
add up to a 20 s back-off of their own) with short timeouts; this module sends the
entry again, with exponential back-off and full jitter, when the call failed whole
for a reason that passes (throttling, 5xx, a connection that failed or timed out) or
when the call answered but EventBridge did not take the entry (`FailedEntryCount`,
entry `ErrorCode` ThrottlingException or InternalFailure). Every other error is final,
and no attempt starts that the invocation's remaining time cannot see to its end.
Whatever is left is one `EventPublishError`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from dlf_status.adapters.aws import bounded_config
from dlf_status.domain.events import put_events_entry, transition_event
from dlf_status.errors import EventPublishError, one_line

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

    from dlf_status.domain.ports import RemainingSeconds

# Entry error codes EventBridge documents as retryable; the others are final.
RETRYABLE_ENTRY_ERRORS: Final = frozenset({"ThrottlingException", "InternalFailure"})
# Whole-call error codes worth another attempt.
_RETRYABLE_CALL_ERRORS: Final = frozenset(
    {
        "ThrottlingException",
        "InternalException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
# One PutEvents of one entry, in the same region, answers in tens of milliseconds:
# these bound an attempt (connect, then the answer) at a few dozen times that.
CONNECT_TIMEOUT_SECONDS: Final = 0.5
READ_TIMEOUT_SECONDS: Final = 1.0
ATTEMPT_SECONDS: Final = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS
MAX_ATTEMPTS: Final = 3
BASE_DELAY_SECONDS: Final = 0.1


def publish_worst_case(attempts: int = MAX_ATTEMPTS) -> float:
    """The longest a publish of `attempts` attempts takes: each attempt's timeouts, and
    the longest back-off between them (full jitter never waits more than the base)."""
    pauses = sum(BASE_DELAY_SECONDS * (1 << (attempt - 1)) for attempt in range(1, attempts))
    return attempts * ATTEMPT_SECONDS + pauses


def make_events_client() -> EventBridgeClient:
    """The events client: short timeouts and one attempt per call (this module retries)."""
    import boto3

    config = bounded_config(
        connect_seconds=CONNECT_TIMEOUT_SECONDS, read_seconds=READ_TIMEOUT_SECONDS, attempts=1
    )
    return boto3.client("events", config=config)


class _Retry(Exception):
    """An attempt failed in a way the next one may not: its error, if none is left."""

    def __init__(self, error: EventPublishError) -> None:
        super().__init__(error.detail)
        self.error = error


class EventBridgePublisher:
    """Publishes each transition record once per call; see the module's docstring."""

    def __init__(
        self,
        bus_name: str,
        *,
        client_factory: Callable[[], EventBridgeClient] = make_events_client,
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._bus_name = bus_name
        self._client_factory = client_factory
        self._client: EventBridgeClient | None = None
        self._client_lock = threading.Lock()
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._jitter = jitter

    @property
    def bus_name(self) -> str:
        return self._bus_name

    @property
    def worst_case_seconds(self) -> float:
        return publish_worst_case(self._max_attempts)

    def _events(self) -> EventBridgeClient:
        with self._client_lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def publish_transition(
        self,
        record: Mapping[str, Any],
        *,
        dataref: str | None = None,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> str:
        event = transition_event(record, dataref=dataref)
        entry = put_events_entry(event, self._bus_name)
        if entry is None:
            raise EventPublishError(
                f"the transition event {event['id']} is larger than EventBridge accepts "
                "(256 KiB) and has no dataref to carry instead of its record",
                retryable=False,
                error_code="EntryTooLarge",
            )
        failed: EventPublishError | None = None
        for attempt in range(1, self._max_attempts + 1):
            pause = 0.0
            if attempt > 1:
                pause = self._jitter() * BASE_DELAY_SECONDS * (1 << (attempt - 2))
            # `not >=`: a remaining time that is not a number (NaN) is no time at all.
            if remaining_seconds is not None and not remaining_seconds() >= pause + ATTEMPT_SECONDS:
                raise EventPublishError(
                    f"no time left to publish the transition event {event['id']}"
                    + ("" if failed is None else f" again after: {failed.detail}"),
                    retryable=True,
                    error_code=None if failed is None else failed.error_code,
                )
            if pause:
                self._sleep(pause)
            try:
                self._put(dict(entry), event["id"])
            except _Retry as retry:
                failed = retry.error
                continue
            return event["id"]
        assert failed is not None
        raise EventPublishError(
            f"EventBridge did not take the transition event {event['id']} in "
            f"{self._max_attempts} attempts: {failed.error_code or failed.detail}",
            retryable=True,
            error_code=failed.error_code,
        )

    def _put(self, entry: dict[str, Any], event_id: str) -> None:
        """One PutEvents call of one entry. Raises `_Retry` when another attempt may
        succeed, `EventPublishError` when none can."""
        from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        try:
            answer = self._events().put_events(Entries=[entry])  # type: ignore[list-item]
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            error = EventPublishError(
                f"cannot publish to event bus {self._bus_name}: {code} (HTTP {status})",
                retryable=code in _RETRYABLE_CALL_ERRORS or (status or 0) >= 500,
                error_code=code or None,
            )
            if error.retryable:
                raise _Retry(error) from None
            raise error from None
        except (BotoConnectionError, HTTPClientError) as exc:
            # Connection refused or reset, a timeout: the entry may have reached the bus
            # (a lost answer), so a retry may deliver it twice, under the same id.
            raise _Retry(
                EventPublishError(
                    f"cannot publish to event bus {self._bus_name}: {type(exc).__name__}: "
                    f"{one_line(str(exc), 160)}",
                    retryable=True,
                )
            ) from None
        except BotoCoreError as exc:
            raise EventPublishError(
                f"cannot publish to event bus {self._bus_name}: {type(exc).__name__}: "
                f"{one_line(str(exc), 160)}",
                retryable=True,
            ) from None
        if not answer.get("FailedEntryCount"):
            return
        [result] = answer["Entries"]
        code = str(result.get("ErrorCode") or "Unknown")
        message = str(result.get("ErrorMessage") or "")
        error = EventPublishError(
            f"EventBridge refused the transition event {event_id}: {code}: "
            f"{one_line(message, 160)}",
            retryable=code in RETRYABLE_ENTRY_ERRORS,
            error_code=code,
        )
        if error.retryable:
            raise _Retry(error)
        raise error
