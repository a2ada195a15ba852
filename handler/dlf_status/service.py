"""The use case: observe one job (fetch, validate, normalise, snapshot) and answer.

This layer sequences the core and the ports; it holds no HTTP, S3 or Lambda
detail. Entry points call `StatusService.observe` and map its errors.
"""

from __future__ import annotations

import enum
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, NamedTuple

from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.interpret import clean_text, interpret_response
from dlf_status.domain.model import JobRef, ValidationMode
from dlf_status.domain.normalize import SCHEMA_VERSION, Source, content_hash
from dlf_status.domain.ports import Clock, Metrics, ObjectStore, StoredObject, UpstreamClient
from dlf_status.domain.redaction import Redactor
from dlf_status.domain.snapshots import (
    SnapshotMetadata,
    history_key,
    latest_key,
    transition_key,
)
from dlf_status.domain.timestamps import to_rfc3339
from dlf_status.domain.transitions import status_changes, transition_record
from dlf_status.errors import JobNotFound, StoreConflict, StoreError, UpstreamError
from dlf_status.observability import REDACTOR, logger

# Attempts at replacing latest.json when concurrent writers keep winning.
MAX_LATEST_ATTEMPTS: Final = 8
# latest.json versions a process remembers (a few hundred bytes each).
REMEMBERED_JOBS: Final = 10_000


class SnapshotOutcome(enum.StrEnum):
    """What happened in the store; sent to HTTP callers as X-Dlf-Snapshot."""

    CHANGED = "changed"  # new content: a history object and latest.json written
    UNCHANGED = "unchanged"  # same content: latest.json refreshed only
    SUPERSEDED = "superseded"  # a newer observation is already latest; history kept
    FAILED = "failed"  # the store failed; the answer is still served
    NOT_WRITTEN = "not-written"  # a stale answer: nothing new to store


class Observation(NamedTuple):
    document: dict[str, Any]
    snapshot: SnapshotOutcome
    stale: bool = False
    upstream_error: UpstreamError | None = None
    store_error: StoreError | None = None
    attempts: int = 0


class _Latest(NamedTuple):
    """What the writer knows of a latest.json: its version, which observation it
    holds, and the statuses a transition is computed from."""

    version: str
    observed_at: str
    content_hash: str
    statuses: dict[str, Any] | None


def _statuses(document: dict[str, Any]) -> dict[str, Any]:
    """The part of a document that transitions compare: small enough to remember."""
    return {
        "observed_at": document["observed_at"],
        "job": {key: document["job"][key] for key in ("status", "status_raw")},
        "nodes": [
            {key: node[key] for key in ("name", "status", "status_raw")}
            for node in document["nodes"]
        ],
    }


def _read_latest(stored: StoredObject | None) -> _Latest | None:
    """Parse latest.json; an unreadable one is treated as older than anything."""
    if stored is None:
        return None
    try:
        document = jsoncodec.loads(stored.body, jsoncodec.STORED)
        return _Latest(
            stored.version,
            str(document["observed_at"]),
            content_hash(document),
            _statuses(document),
        )
    except (jsoncodec.JsonDecodeError, KeyError, TypeError, AttributeError):
        return _Latest(stored.version, "", "", None)


class SnapshotWrite(NamedTuple):
    outcome: SnapshotOutcome
    transitions: int = 0


@dataclass
class SnapshotWriter:
    """Writes an observation: a history object when the content changed (never
    overwritten), then latest.json by compare-and-swap, retried when another
    writer wins, and never replaced by an older observation."""

    store: ObjectStore
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    max_attempts: int = MAX_LATEST_ATTEMPTS
    # The latest.json this process last wrote, per job: a warm container's next tick
    # replaces it with one conditional PUT instead of a GET and a PUT. A stale entry
    # (another writer got there since) only costs the failed PUT and a fresh read.
    remembered: int = REMEMBERED_JOBS
    _seen: OrderedDict[str, _Latest] = field(default_factory=OrderedDict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _recall(self, key: str) -> _Latest | None:
        with self._lock:
            return self._seen.get(key)

    def _remember(self, key: str, latest: _Latest) -> None:
        with self._lock:
            self._seen[key] = latest
            self._seen.move_to_end(key)
            while len(self._seen) > self.remembered:
                self._seen.popitem(last=False)

    def _forget(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)

    def write(self, job: JobRef, document: dict[str, Any], slot: datetime) -> SnapshotWrite:
        """History first, then the transition against the latest read, then latest.json:
        whatever fails later, what was observed is already kept."""
        body = jsoncodec.canonical_bytes(document)
        digest = content_hash(document)
        observed_at = document["observed_at"]
        metadata = SnapshotMetadata(SCHEMA_VERSION, digest, observed_at).as_headers()
        key = latest_key(job)
        history_written = False
        transitions = 0
        latest = self._recall(key) or _read_latest(self.store.get(key))
        for attempt in range(1, self.max_attempts + 1):
            if not history_written and (latest is None or latest.content_hash != digest):
                self.store.create(history_key(job, slot, digest), body, metadata)
                history_written = True
            if latest is not None and (latest.observed_at, latest.content_hash) >= (
                observed_at,
                digest,
            ):
                return SnapshotWrite(SnapshotOutcome.SUPERSEDED, transitions)
            if latest is not None and latest.statuses is not None:
                transitions += self._record_transition(job, slot, latest, document, metadata)
            expected = None if latest is None else latest.version
            version = self.store.replace(key, body, metadata, expected)
            if version is not None:
                self._remember(key, _Latest(version, observed_at, digest, _statuses(document)))
                outcome = SnapshotOutcome.CHANGED if history_written else SnapshotOutcome.UNCHANGED
                return SnapshotWrite(outcome, transitions)
            self._forget(key)
            self.sleep(self.jitter() * 0.02 * attempt)
            latest = _read_latest(self.store.get(key))
        raise StoreConflict(
            f"latest.json of {job.job_name!r} kept changing under {self.max_attempts} attempts"
        )

    def _record_transition(
        self,
        job: JobRef,
        slot: datetime,
        latest: _Latest,
        document: dict[str, Any],
        metadata: dict[str, str],
    ) -> int:
        """One record per (observation, latest compared with), written once."""
        if latest.statuses is None:
            return 0
        changes = status_changes(latest.statuses, document)
        if not changes:
            return 0
        record = transition_record(latest.statuses, document, changes)
        key = transition_key(job, slot, metadata["content-hash"], latest.content_hash)
        self.store.create(key, jsoncodec.canonical_bytes(record), metadata)
        return 1


@dataclass
class StatusService:
    upstream: UpstreamClient
    store: ObjectStore
    validator: ResponseValidator
    clock: Clock
    metrics: Metrics
    mode: ValidationMode = ValidationMode.LENIENT
    serve_stale: bool = True
    # The credentials to mask in what the upstream sends: the process's, by default.
    redactor: Redactor = field(default=REDACTOR)
    writer: SnapshotWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = SnapshotWriter(self.store)

    def observe(
        self, job: JobRef, *, slot: datetime | None = None, serve_stale: bool | None = None
    ) -> Observation:
        """Fetch, validate, normalise and store one job's status.

        Raises `JobNotFound` and, when no snapshot can stand in (or `serve_stale` is
        False), the `UpstreamError`. A store failure never hides the answer: it is
        reported in the result. `slot` names the history object (see snapshots.py).
        """
        context: dict[str, Any] = {"project_id": job.project_id, "job_name": job.job_name}
        try:
            call = self.upstream.fetch_status(job)
            observed_at = self.clock.now()
            self.metrics.add("UpstreamLatency", call.elapsed_seconds * 1000, "Milliseconds")
            context.update(
                http_status=call.response.status,
                attempts=call.attempts,
                latency_ms=round(call.elapsed_seconds * 1000, 1),
                upstream_request_id=clean_text(
                    call.response.headers.get("X-Request-Id"), self.redactor
                ),
            )
            document = interpret_response(
                call.response,
                source=Source(job.project_id, job.job_name, job.workspace, self.upstream.endpoint),
                observed_at=observed_at,
                validator=self.validator,
                mode=self.mode,
                redactor=self.redactor,
            )
            del call  # the raw body, as large as the answer, is not needed any more
        except JobNotFound:
            self.metrics.add("JobsNotFound", 1)
            raise
        except UpstreamError as error:
            self.metrics.add("UpstreamFailures", 1)
            logger.warning(
                "upstream failed",
                extra={**context, "error": type(error).__name__, "detail": error.detail},
            )
            allowed = self.serve_stale if serve_stale is None else serve_stale
            stale = self._stale(job, error) if allowed else None
            if stale is None:
                raise
            return stale
        self._report_validation(document)
        return self._store(job, document, slot or observed_at, context)

    def _report_validation(self, document: dict[str, Any]) -> None:
        validation = document["validation"]
        context = {"job_name": document["source"]["job_name"]}
        if validation["violations"]:
            self.metrics.add("ContractViolations", len(validation["violations"]))
            logger.warning(
                "contract violations",
                extra={
                    **context,
                    "violations": len(validation["violations"]),
                    "first": validation["violations"][0],
                },
            )
        if validation["unknown_fields"]:
            self.metrics.add("DriftFields", len(validation["unknown_fields"]))
            logger.info(
                "drift",
                extra={
                    **context,
                    "unknown_fields": [path[:200] for path in validation["unknown_fields"][:20]],
                },
            )

    def _store(
        self, job: JobRef, document: dict[str, Any], slot: datetime, context: dict[str, Any]
    ) -> Observation:
        """Write the snapshot; one log line says how the whole observation went."""
        attempts = int(context["attempts"])
        try:
            written = self.writer.write(job, document, slot)
        except StoreError as error:
            self.metrics.add("SnapshotWriteFailures", 1)
            logger.error(
                "snapshot write failed",
                extra={**context, "error": type(error).__name__, "detail": error.detail},
            )
            return Observation(
                document, SnapshotOutcome.FAILED, store_error=error, attempts=attempts
            )
        if written.transitions:
            self.metrics.add("Transitions", written.transitions)
        logger.info(
            "job observed",
            extra={
                **context,
                "status": document["job"]["status"],
                "snapshot": str(written.outcome),
                "transitions": written.transitions,
            },
        )
        return Observation(document, written.outcome, attempts=attempts)

    def _stale(self, job: JobRef, error: UpstreamError) -> Observation | None:
        """The latest snapshot, marked stale, or None when there is none to serve."""
        try:
            stored = self.store.get(latest_key(job))
        except StoreError as store_error:
            logger.warning("no stale fallback", extra={"detail": store_error.detail})
            return None
        if stored is None:
            return None
        try:
            document = jsoncodec.loads(stored.body, jsoncodec.STORED)
        except jsoncodec.JsonDecodeError:
            return None
        if not isinstance(document, dict) or "observed_at" not in document:
            return None
        observed, _ = to_rfc3339(document["observed_at"])
        if observed is None:
            return None
        age = (self.clock.now() - datetime.fromisoformat(observed)).total_seconds()
        document["stale"] = True
        document["stale_age_seconds"] = round(max(age, 0.0), 3)
        self.metrics.add("StaleServed", 1)
        logger.warning(
            "serving stale snapshot",
            extra={"age_seconds": document["stale_age_seconds"], "error": type(error).__name__},
        )
        return Observation(document, SnapshotOutcome.NOT_WRITTEN, stale=True, upstream_error=error)
