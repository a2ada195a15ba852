"""The use case: observe one job (fetch, validate, normalise, snapshot) and answer.

This layer sequences the core and the ports; it holds no HTTP, S3 or Lambda
detail. Entry points call `StatusService.observe` and map its errors.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple, cast

from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.events import NoEvents
from dlf_status.domain.gone import (
    GONE_RECORD_SCHEMA_VERSION,
    GONE_SCHEMA_VERSION,
    gone_document,
    gone_record,
    gone_view,
    is_gone_document,
    record_schema_version,
    statuses_of,
)
from dlf_status.domain.interpret import clean_text, interpret_response
from dlf_status.domain.model import JobRef, ValidationMode
from dlf_status.domain.normalize import (
    SCHEMA_VERSION,
    EncodedDocument,
    Source,
    content_hash,
    encode_document,
)
from dlf_status.domain.ports import (
    Clock,
    EventPublisher,
    Metrics,
    ObjectStore,
    StoredObject,
    UpstreamClient,
)
from dlf_status.domain.redaction import Redactor
from dlf_status.domain.snapshots import (
    SnapshotMetadata,
    SnapshotOutcome,
    history_key,
    latest_key,
    staged_transition_key,
    transition_key,
)
from dlf_status.domain.timestamps import format_utc, to_rfc3339
from dlf_status.domain.transitions import (
    TRANSITION_SCHEMA_VERSION,
    status_changes,
    status_view,
    transition_record,
)
from dlf_status.errors import (
    EventPublishError,
    JobNotFound,
    StoreConflict,
    StoreError,
    UpstreamError,
)
from dlf_status.observability import REDACTOR, NullMetrics, logger

if TYPE_CHECKING:
    from dlf_status.domain.documents import (
        DocumentSource,
        GoneReason,
        StatusDocument,
        StatusView,
        TransitionRecord,
    )

# Attempts at replacing latest.json when concurrent writers keep winning.
MAX_LATEST_ATTEMPTS: Final = 8
# latest.json versions a process remembers (a few hundred bytes each).
REMEMBERED_JOBS: Final = 10_000


class Observation(NamedTuple):
    document: StatusDocument
    body: bytes  # the document's canonical bytes, serialised once: stored and served
    snapshot: SnapshotOutcome
    stale: bool = False
    upstream_error: UpstreamError | None = None
    store_error: StoreError | None = None
    attempts: int = 0
    # The document's content hash (sha256 of the canonical document without
    # observed_at): the HTTP answer's entity tag.
    content_hash: str = ""


# latest.json's metadata: the sha256 of the transition record its compare-and-swap
# implied. Whoever replaces that version first makes sure the record is published.
RECORD_METADATA: Final = "transition-record"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class _DueRecord(NamedTuple):
    """A transition record that a version of latest.json implies and that may not be
    published yet: its hash, and its bytes when this process staged it."""

    record_hash: str
    body: bytes | None = None


class _Latest(NamedTuple):
    """What the writer knows of a latest.json: its version, which observation it
    holds, the statuses a transition is computed from, and a record it still owes."""

    version: str
    observed_at: str
    content_hash: str
    statuses: StatusView | None
    due: _DueRecord | None = None
    gone: bool = False  # a gone document (domain/gone.py), not a status document


def _read_latest(stored: StoredObject | None) -> _Latest | None:
    """Parse latest.json; an unreadable one is treated as older than anything."""
    if stored is None:
        return None
    try:
        document = jsoncodec.loads(stored.body, jsoncodec.STORED)
        observed_at = str(document["observed_at"])
        datetime.fromisoformat(observed_at)  # a record's key is made of it
        record_hash = stored.metadata.get(RECORD_METADATA, "")
        return _Latest(
            stored.version,
            observed_at,
            content_hash(document),
            statuses_of(document),
            _DueRecord(record_hash) if _SHA256.fullmatch(record_hash) else None,
            gone=is_gone_document(document),
        )
    except (jsoncodec.JsonDecodeError, KeyError, TypeError, AttributeError, ValueError):
        return _Latest(stored.version, "", "", None)


class GoneMark(NamedTuple):
    """How marking a job gone went in the store (`StatusService.record_gone`)."""

    snapshot: SnapshotOutcome
    store_error: StoreError | None = None


class SnapshotWrite(NamedTuple):
    outcome: SnapshotOutcome
    transitions: int = 0  # records published for this observation (0 or 1)
    repaired: int = 0  # records of earlier observations that this write published


def _record_version(body: bytes) -> str:
    """The schema version a staged record's canonical bytes declare (1.0 or 1.1)."""
    if b'"schema_version":"' + GONE_RECORD_SCHEMA_VERSION.encode() + b'"' in body:
        return GONE_RECORD_SCHEMA_VERSION
    return TRANSITION_SCHEMA_VERSION


@dataclass
class SnapshotWriter:
    """Writes an observation: a history object when the content changed (never
    overwritten), then latest.json by compare-and-swap, retried when another
    writer wins, and never replaced by an older observation.

    Transitions, exactly once: the record is computed against the latest.json the
    compare-and-swap replaces (the version it was conditioned on), staged under
    `_dlf-status/` before it, and published under `transitions/` after it; the new
    latest.json names the record in its metadata. A writer stopped between the two
    (a killed Lambda, a store error) leaves a latest.json that owes its record, and
    the next writer that replaces it publishes the staged copy first. Keys are
    deterministic and writes create-only, so publishing twice is harmless.

    Each record is also sent to `events` (EVENT_BUS_NAME) by the writer whose
    create-only write published it, and by no other: exactly once whatever the
    number of writers, and again by the repairing writer when a writer stopped
    before the record was published. A publish that fails (after the publisher's
    own retries) is logged and counted; the snapshot stands as the store has it.
    """

    store: ObjectStore
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    max_attempts: int = MAX_LATEST_ATTEMPTS
    # The latest.json this process last wrote, per job: a warm container's next tick
    # replaces it with one conditional PUT instead of a GET and a PUT. A stale entry
    # (another writer got there since) only costs the failed PUT and a fresh read.
    remembered: int = REMEMBERED_JOBS
    events: EventPublisher = field(default_factory=NoEvents)
    metrics: Metrics = field(default_factory=NullMetrics)
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

    def _settled(self, key: str, version: str) -> None:
        """The record owed by this version is published: stop owing it, if this
        version is still the one remembered."""
        with self._lock:
            known = self._seen.get(key)
            if known is not None and known.version == version and known.due is not None:
                self._seen[key] = known._replace(due=None)

    def _forget(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)

    def write(
        self,
        job: JobRef,
        document: StatusDocument,
        slot: datetime,
        encoded: EncodedDocument | None = None,
    ) -> SnapshotWrite:
        """History first, then latest.json, then the transition it implies: whatever
        fails later, what was observed is already kept, and no record is published
        for a replacement that did not happen. `encoded` is the document serialised
        (`encode_document`) when the caller has it already."""
        body, digest = encoded or encode_document(document)
        observed_at = document["observed_at"]
        metadata = SnapshotMetadata(SCHEMA_VERSION, digest, observed_at).as_headers()
        key = latest_key(job)
        view = status_view(document)
        history_written = False
        repaired = 0
        latest = self._recall(key) or _read_latest(self.store.get(key))
        for attempt in range(1, self.max_attempts + 1):
            if not history_written and (latest is None or latest.content_hash != digest):
                self.store.create(history_key(job, slot, digest), body, metadata)
                history_written = True
            if latest is not None and latest.due is not None:
                # Replacing this version before its record is out would lose the record.
                repaired += self._publish_owed(job, key, latest, latest.due)
            if latest is not None and (latest.observed_at, latest.content_hash) >= (
                observed_at,
                digest,
            ):
                return SnapshotWrite(SnapshotOutcome.SUPERSEDED, 0, repaired)
            due = self._stage_transition(job, latest, document, view, digest)
            headers = metadata if due is None else {**metadata, RECORD_METADATA: due.record_hash}
            expected = None if latest is None else latest.version
            version = self.store.replace(key, body, headers, expected)
            if version is not None:
                mine = _Latest(version, observed_at, digest, view, due)
                self._remember(key, mine)
                published = 0 if due is None else self._publish_owed(job, key, mine, due)
                outcome = SnapshotOutcome.CHANGED if history_written else SnapshotOutcome.UNCHANGED
                return SnapshotWrite(outcome, published, repaired)
            self._forget(key)
            self.sleep(self.jitter() * 0.02 * attempt)
            latest = _read_latest(self.store.get(key))
        raise StoreConflict(
            f"latest.json of {job.job_name!r} kept changing under {self.max_attempts} attempts"
        )

    def _stage_transition(
        self,
        job: JobRef,
        latest: _Latest | None,
        document: StatusDocument,
        view: StatusView,
        digest: str,
    ) -> _DueRecord | None:
        """The record that replacing `latest` with `document` implies, staged where
        consumers do not look; None when no status changes (or nothing to compare)."""
        if latest is None or latest.statuses is None or latest.content_hash == digest:
            return None
        changes = status_changes(latest.statuses, view)
        if not changes:
            return None
        record = transition_record(
            latest.statuses,
            document,
            changes,
            previous_hash=latest.content_hash,
            current_hash=digest,
        )
        # A job back after it was reported gone: its job change is from null (1.1).
        record["schema_version"] = record_schema_version(
            latest.statuses, view, record["schema_version"]
        )
        return self._stage_record(job, record, document["observed_at"], digest)

    def _stage_record(
        self, job: JobRef, record: TransitionRecord, observed_at: str, digest: str
    ) -> _DueRecord:
        body = jsoncodec.canonical_bytes(record)
        record_hash = hashlib.sha256(body).hexdigest()
        observed = datetime.fromisoformat(observed_at)
        self.store.create(staged_transition_key(job, observed, digest, record_hash), body, {})
        return _DueRecord(record_hash, body)

    def write_gone(
        self, job: JobRef, source: DocumentSource, observed_at: str, reason: GoneReason
    ) -> SnapshotWrite:
        """Mark `job` gone: its status call said it does not exist (domain/gone.py).

        latest.json is replaced, by the same compare-and-swap as an observation, with
        a gone document, and the record whose job change goes to null is staged and
        published as a transition's is. No history object. `CHANGED` when this call
        wrote it; `UNCHANGED` when latest.json was a gone document already (another
        writer reported it), `SUPERSEDED` when it holds an observation made after
        `observed_at` (the job is back).
        """
        key = latest_key(job)
        repaired = 0
        latest = self._recall(key) or _read_latest(self.store.get(key))
        for attempt in range(1, self.max_attempts + 1):
            if latest is not None and latest.due is not None:
                repaired += self._publish_owed(job, key, latest, latest.due)
            if latest is not None and latest.gone:
                return SnapshotWrite(SnapshotOutcome.UNCHANGED, 0, repaired)
            known = latest is not None and latest.statuses is not None
            gone = gone_document(
                source,
                observed_at,
                error_code=reason["error_code"],
                error_msg=reason["error_msg"],
                last_observed_at=latest.observed_at if latest is not None and known else None,
                last_content_hash=latest.content_hash if latest is not None and known else None,
            )
            body = jsoncodec.canonical_bytes(gone)
            digest = content_hash(gone)
            if latest is not None and (latest.observed_at, latest.content_hash) >= (
                observed_at,
                digest,
            ):
                return SnapshotWrite(SnapshotOutcome.SUPERSEDED, 0, repaired)
            due = None
            if latest is not None and latest.statuses is not None:
                record = gone_record(
                    latest.statuses, gone, previous_hash=latest.content_hash, current_hash=digest
                )
                if record is not None:
                    due = self._stage_record(job, record, observed_at, digest)
            metadata = SnapshotMetadata(GONE_SCHEMA_VERSION, digest, observed_at).as_headers()
            headers = metadata if due is None else {**metadata, RECORD_METADATA: due.record_hash}
            expected = None if latest is None else latest.version
            version = self.store.replace(key, body, headers, expected)
            if version is not None:
                mine = _Latest(version, observed_at, digest, gone_view(observed_at), due, gone=True)
                self._remember(key, mine)
                published = 0 if due is None else self._publish_owed(job, key, mine, due)
                return SnapshotWrite(SnapshotOutcome.CHANGED, published, repaired)
            self._forget(key)
            self.sleep(self.jitter() * 0.02 * attempt)
            latest = _read_latest(self.store.get(key))
        raise StoreConflict(
            f"latest.json of {job.job_name!r} kept changing under {self.max_attempts} attempts"
        )

    def _publish_owed(self, job: JobRef, key: str, latest: _Latest, due: _DueRecord) -> int:
        """Publish the record `latest` owes; 1 when this call made it appear.

        Without the bytes (another process staged them), the published key is read
        first: almost always the record is there already."""
        observed = datetime.fromisoformat(latest.observed_at)
        published_key = transition_key(job, observed, latest.content_hash)
        context = {"job_name": job.job_name, "observed_at": latest.observed_at}
        body = due.body
        if body is None:
            if self.store.get(published_key) is not None:
                self._settled(key, latest.version)
                return 0
            staged_key = staged_transition_key(job, observed, latest.content_hash, due.record_hash)
            staged = self.store.get(staged_key)
            if staged is None or hashlib.sha256(staged.body).hexdigest() != due.record_hash:
                logger.error("transition record lost", extra={**context, "staged_key": staged_key})
                self._settled(key, latest.version)
                return 0
            body = staged.body
        record_metadata = {
            "schema-version": _record_version(body),
            "content-hash": latest.content_hash,
            "observed-at": latest.observed_at,
        }
        try:
            created = self.store.create(published_key, body, record_metadata)
        except StoreError as error:
            raise StoreError(
                f"the transition record of {job.job_name!r} at {latest.observed_at} is not "
                f"published yet ({error.detail}); the next observation of the job publishes it"
            ) from None
        if created:
            self._publish_event(published_key, body, context)
        self._settled(key, latest.version)
        if created and due.body is None:
            logger.warning("transition record published late", extra=context)
        return int(created)

    def _publish_event(self, published_key: str, body: bytes, context: dict[str, str]) -> None:
        """The record just published, sent as a CloudEvent. Never raises: the snapshot
        and the record are written, and the outcome is the store's."""
        location = self.store.location
        dataref = f"{location}/{published_key}" if location.startswith("s3://") else None
        try:
            record = jsoncodec.loads(body, jsoncodec.STORED)
            event_id = self.events.publish_transition(record, dataref=dataref)
        except EventPublishError as error:
            self.metrics.add("EventPublishFailures", 1)
            logger.error(
                "transition event not published",
                extra={
                    **context,
                    "error_code": error.error_code,
                    "retryable": error.retryable,
                    "detail": error.detail,
                },
            )
        except Exception as error:  # noqa: BLE001 - a publisher's bug must not fail the snapshot
            self.metrics.add("EventPublishFailures", 1)
            logger.exception(
                "transition event not published", extra={**context, "error": type(error).__name__}
            )
        else:
            logger.debug("transition event published", extra={**context, "event_id": event_id})


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
    # Where transition records also go (EVENT_BUS_NAME); none by default.
    events: EventPublisher = field(default_factory=NoEvents)
    writer: SnapshotWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = SnapshotWriter(self.store, events=self.events, metrics=self.metrics)

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
        self._report_validation(job, document)
        return self._store(job, document, slot or observed_at, context)

    def record_gone(self, job: JobRef, error: JobNotFound) -> GoneMark:
        """Mark `job` gone after its status call raised `error` (domain/gone.py): its
        latest.json becomes a gone document, with a transition record to null. A store
        failure is reported in the result, as for an observation."""
        info = error.info
        source: DocumentSource = {
            "project_id": job.project_id,
            "workspace": job.workspace,
            "job_name": job.job_name,
            "endpoint": self.upstream.endpoint,
        }
        observed_at = format_utc(self.clock.now())
        reason: GoneReason = {"error_code": info.error_code, "error_msg": info.error_msg}
        context = {"project_id": job.project_id, "job_name": job.job_name}
        try:
            written = self.writer.write_gone(job, source, observed_at, reason)
        except StoreError as store_error:
            self.metrics.add("SnapshotWriteFailures", 1)
            logger.error(
                "gone job not recorded",
                extra={
                    **context,
                    "error": type(store_error).__name__,
                    "detail": store_error.detail,
                },
            )
            return GoneMark(SnapshotOutcome.FAILED, store_error)
        if written.transitions or written.repaired:
            self.metrics.add("Transitions", written.transitions + written.repaired)
        logger.info("job gone", extra={**context, "snapshot": str(written.outcome)})
        return GoneMark(written.outcome)

    def _report_validation(self, job: JobRef, document: StatusDocument) -> None:
        validation = document["validation"]
        context = {"job_name": job.job_name}
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
        self, job: JobRef, document: StatusDocument, slot: datetime, context: dict[str, Any]
    ) -> Observation:
        """Write the snapshot; one log line says how the whole observation went."""
        attempts = int(context["attempts"])
        # Serialised once: the same bytes are stored, hashed and served.
        encoded = encode_document(document)
        try:
            written = self.writer.write(job, document, slot, encoded)
        except StoreError as error:
            self.metrics.add("SnapshotWriteFailures", 1)
            logger.error(
                "snapshot write failed",
                extra={**context, "error": type(error).__name__, "detail": error.detail},
            )
            return Observation(
                document,
                encoded.body,
                SnapshotOutcome.FAILED,
                store_error=error,
                attempts=attempts,
                content_hash=encoded.content_hash,
            )
        if written.transitions or written.repaired:
            self.metrics.add("Transitions", written.transitions + written.repaired)
        logger.info(
            "job observed",
            extra={
                **context,
                "status": document["job"]["status"],
                "snapshot": str(written.outcome),
                "transitions": written.transitions,
                "transitions_repaired": written.repaired,
            },
        )
        return Observation(
            document,
            encoded.body,
            written.outcome,
            attempts=attempts,
            content_hash=encoded.content_hash,
        )

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
            parsed = jsoncodec.loads(stored.body, jsoncodec.STORED)
        except jsoncodec.JsonDecodeError:
            return None
        if not isinstance(parsed, dict) or "observed_at" not in parsed:
            return None
        if is_gone_document(parsed):
            return None  # the job was reported gone: there is no status to serve
        observed, _ = to_rfc3339(parsed["observed_at"])
        if observed is None:
            return None
        # What this service wrote (a 1.0 or 1.1 document): served as it was stored.
        document = cast("StatusDocument", parsed)
        digest = content_hash(document)  # of the stored document, before it is marked
        age = (self.clock.now() - datetime.fromisoformat(observed)).total_seconds()
        document["stale"] = True
        document["stale_age_seconds"] = round(max(age, 0.0), 3)
        self.metrics.add("StaleServed", 1)
        logger.warning(
            "serving stale snapshot",
            extra={"age_seconds": document["stale_age_seconds"], "error": type(error).__name__},
        )
        return Observation(
            document,
            jsoncodec.canonical_bytes(document),
            SnapshotOutcome.NOT_WRITTEN,
            stale=True,
            upstream_error=error,
            content_hash=digest,
        )
