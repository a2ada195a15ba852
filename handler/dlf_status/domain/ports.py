"""Ports: what the core needs from the outside, as small Protocols.

Production adapters live in `dlf_status.adapters` and are built by
`dlf_status.bootstrap`; tests pass their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Final, NamedTuple, Protocol

from dlf_status.domain.model import JobRef, UpstreamResponse


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class UpstreamCall(NamedTuple):
    """An upstream answer and what it took to get it."""

    response: UpstreamResponse
    attempts: int
    elapsed_seconds: float


class UpstreamClient(Protocol):
    @property
    def endpoint(self) -> str: ...

    def fetch_status(self, job: JobRef) -> UpstreamCall:
        """One status call, retries included. Raises `UpstreamError` when no answer came."""
        ...


NO_METADATA: Final[Mapping[str, str]] = MappingProxyType({})


class StoredObject(NamedTuple):
    body: bytes
    version: str  # the store's ETag, or a digest for stores without one
    # What `replace` wrote beside the body, keys in lower case; empty when unknown.
    metadata: Mapping[str, str] = NO_METADATA


class ObjectStore(Protocol):
    """Keys below one root; conditional writes are the only writes."""

    @property
    def location(self) -> str:
        """Where the root is, for logs and messages (never with credentials)."""
        ...

    def get(self, key: str) -> StoredObject | None: ...

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        """Write unless the key exists (If-None-Match: *). False when it already did."""
        ...

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        """Write if the current version is `expected_version` (None: if absent).

        Returns the new version, or None when another writer got there first.
        `metadata` is kept with this version and returned by `get`.
        """
        ...


class Metrics(Protocol):
    def add(self, name: str, value: float, unit: str = "Count") -> None: ...
