"""Transition events to an EventBridge bus (PutEvents), as CloudEvents (domain/events.py).

boto3 is imported, and the `events` client made, at the first publish: a container
that serves only HTTP requests never pays for them.

Two layers of retries: botocore's standard mode retries a call that fails whole
(throttling, 5xx, connection errors); this module retries an entry that the call
accepted but EventBridge did not (`FailedEntryCount`, entry `ErrorCode`
ThrottlingException or InternalFailure), with exponential back-off and full jitter.
Every other entry error is final. Whatever is left is one `EventPublishError`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from dlf_status.domain.events import put_events_entry, transition_event
from dlf_status.errors import EventPublishError, one_line

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

# Entry error codes EventBridge documents as retryable; the others are final.
RETRYABLE_ENTRY_ERRORS: Final = frozenset({"ThrottlingException", "InternalFailure"})
# Whole-call error codes worth another publish later (botocore retried them already).
_RETRYABLE_CALL_ERRORS: Final = frozenset(
    {
        "ThrottlingException",
        "InternalException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
MAX_ENTRY_ATTEMPTS: Final = 4
BASE_DELAY_SECONDS: Final = 0.1


def make_events_client() -> EventBridgeClient:
    """The events client, with short timeouts: a publish runs inside a snapshot write."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"mode": "standard", "max_attempts": 3},
    )
    return boto3.client("events", config=config)


class EventBridgePublisher:
    """Publishes each transition record once per call; see the module's docstring."""

    def __init__(
        self,
        bus_name: str,
        *,
        client_factory: Callable[[], EventBridgeClient] = make_events_client,
        max_attempts: int = MAX_ENTRY_ATTEMPTS,
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

    def _events(self) -> EventBridgeClient:
        with self._client_lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def publish_transition(self, record: Mapping[str, Any], *, dataref: str | None = None) -> str:
        event = transition_event(record, dataref=dataref)
        entry = put_events_entry(event, self._bus_name)
        if entry is None:
            raise EventPublishError(
                f"the transition event {event['id']} is larger than EventBridge accepts "
                "(256 KiB) and has no dataref to carry instead of its record",
                retryable=False,
                error_code="EntryTooLarge",
            )
        for attempt in range(1, self._max_attempts + 1):
            code, message = self._put(dict(entry))
            if code is None:
                return event["id"]
            if code not in RETRYABLE_ENTRY_ERRORS:
                raise EventPublishError(
                    f"EventBridge refused the transition event {event['id']}: {code}: "
                    f"{one_line(message, 160)}",
                    retryable=False,
                    error_code=code,
                )
            if attempt < self._max_attempts:
                self._sleep(self._jitter() * BASE_DELAY_SECONDS * 2 ** (attempt - 1))
        raise EventPublishError(
            f"EventBridge did not accept the transition event {event['id']} in "
            f"{self._max_attempts} attempts: {code}",
            retryable=True,
            error_code=code,
        )

    def _put(self, entry: dict[str, Any]) -> tuple[str | None, str]:
        """One PutEvents call of one entry: (None, "") when accepted, else the entry's
        error code and message. A call that fails whole raises EventPublishError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._events().put_events(Entries=[entry])  # type: ignore[list-item]
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise EventPublishError(
                f"cannot publish to event bus {self._bus_name}: {code} (HTTP {status})",
                retryable=code in _RETRYABLE_CALL_ERRORS or (status or 0) >= 500,
                error_code=code or None,
            ) from None
        except BotoCoreError as exc:
            raise EventPublishError(
                f"cannot publish to event bus {self._bus_name}: {type(exc).__name__}: "
                f"{one_line(str(exc), 160)}",
                retryable=True,
            ) from None
        if not answer.get("FailedEntryCount"):
            return None, ""
        [result] = answer["Entries"]
        return str(result.get("ErrorCode") or "Unknown"), str(result.get("ErrorMessage") or "")
