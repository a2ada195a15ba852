"""Ports: what the core needs from the outside, as small Protocols.

Production adapters live in `dlf_status.adapters` and are built by
`dlf_status.bootstrap`; tests pass their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol

from dlf_status.domain.model import JobRef, UpstreamResponse

if TYPE_CHECKING:
    from dlf_status.domain.listing import JobPageQuery
    from dlf_status.errors import QueueError


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class UpstreamCall(NamedTuple):
    """An upstream answer and what it took to get it."""

    response: UpstreamResponse
    attempts: int
    elapsed_seconds: float
    # Whether the request carried an AK/SK signature and its time (X-Sdk-Date), which
    # the gateway refuses more than 15 minutes off its own clock; an IAM token does not.
    signed: bool = False


class UpstreamClient(Protocol):
    @property
    def endpoint(self) -> str: ...

    def fetch_status(self, job: JobRef) -> UpstreamCall:
        """One status call, retries included. Raises `UpstreamError` when no answer came."""
        ...


class JobPageClient(Protocol):
    """The job list's port: one page per call (`HttpUpstreamClient` is one)."""

    def fetch_job_page(self, query: JobPageQuery) -> UpstreamCall:
        """One page of the job list, retries included. Raises `UpstreamError` when no
        answer came."""
        ...


NO_METADATA: Final[Mapping[str, str]] = MappingProxyType({})


class StoredObject(NamedTuple):
    body: bytes
    version: str  # the store's ETag, or a digest for stores without one
    # What `replace` wrote beside the body, keys in lower case; empty when unknown.
    metadata: Mapping[str, str] = NO_METADATA


# The most keys one listing call returns (S3's ListObjectsV2 answers 1,000 at most).
MAX_LIST_PAGE: Final = 1000


def check_list_limit(limit: int) -> int:
    """`limit` if a store can list that many keys in one call; a caller's bug otherwise."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_PAGE:
        raise ValueError(f"a listing returns 1 to {MAX_LIST_PAGE} keys, not {limit!r}")
    return limit


class ListedObject(NamedTuple):
    """One object of a listing."""

    key: str  # below the store's root, as `get` takes it
    version: str  # what `get` would return as its version now (the ETag, or a digest)
    size: int  # bytes


class ObjectListing(NamedTuple):
    """One page of keys, ascending. `resume_after` is the key to pass as `start_after`
    for the next page, or None when nothing more matched: a page may hold fewer
    objects than asked (even none) while more remain, when the store skipped keys
    that are not dlf-status's (see `ObjectStore.list_objects`)."""

    objects: tuple[ListedObject, ...]
    resume_after: str | None


class ObjectStore(Protocol):
    """Keys below one root; conditional writes are the only writes."""

    @property
    def location(self) -> str:
        """Where the root is, for logs and messages (never with credentials)."""
        ...

    def get(self, key: str) -> StoredObject | None: ...

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        """Write unless the key exists (If-None-Match: *). False when it already did.

        Raises StoreError when the write failed, and its WriteOutcomeUnknown when the
        write may have been applied but whether the object there is this call's
        cannot be told."""
        ...

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        """Write if the current version is `expected_version` (None: if absent).

        Returns the new version, or None when another writer got there first.
        `metadata` is kept with this version and returned by `get`.
        """
        ...

    def list_objects(
        self, prefix: str, *, start_after: str = "", limit: int = MAX_LIST_PAGE
    ) -> ObjectListing:
        """Keys that start with `prefix` and sort after `start_after`, in byte order
        (as S3 lists them), at most `limit` (1 to MAX_LIST_PAGE).

        Only keys that `is_safe_key` accepts are listed, and none of the store's own
        housekeeping (the local store's staging, lock and metadata files). Listing is
        positioned by keys, never by offsets: a page boundary stays right while other
        writers add or replace objects.
        """
        ...


class JobQueue(Protocol):
    """Where a fanned-out tick's jobs go (SQS in production)."""

    def send(self, messages: list[dict[str, Any]]) -> dict[int, QueueError]:
        """Send up to ten messages; return the ones that could not be sent, by index,
        each with its own error (and retry policy). Raises `QueueError` when the whole
        batch was refused."""
        ...


class Metrics(Protocol):
    def add(self, name: str, value: float, unit: str = "Count") -> None: ...


# The seconds an invocation has left (Lambda's remaining time); None where nothing
# ends the process (the CLI, `serve`).
RemainingSeconds = Callable[[], float]


class EventPublisher(Protocol):
    """Where transition records go beside the store, as CloudEvents (see domain/events.py)."""

    @property
    def worst_case_seconds(self) -> float:
        """The longest one publish can take, retries and back-off included (0 when
        nothing is sent): a writer starts a record and its event only with this left."""
        ...

    def publish_transition(
        self,
        record: Mapping[str, Any],
        *,
        dataref: str | None = None,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> str:
        """Publish one transition record; return the event's id, the same for the same
        record whoever publishes it and however often. `dataref`, where the record is
        stored, lets an event too large to carry its record carry the reference instead.
        No attempt starts that `remaining_seconds` cannot see to its end. Raises
        `EventPublishError` once retries (or the time for them) are spent."""
        ...
