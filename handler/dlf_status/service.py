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
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol, cast
from urllib.parse import quote

from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.events import NoEvents
from dlf_status.domain.freshness import (
    LATEST_REFRESH_SECONDS,
    Confirmation,
    freshness_record,
    read_record,
)
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
    RemainingSeconds,
    StoredObject,
    UpstreamClient,
)
from dlf_status.domain.redaction import Redactor
from dlf_status.domain.snapshots import (
    FRESHNESS_ROOT,
    LATEST_ROOT,
    SnapshotMetadata,
    SnapshotOutcome,
    compact_time,
    freshness_key,
    history_key,
    is_earlier_release_latest,
    latest_key,
    moved_latest_key,
    staged_transition_key,
    transition_key,
    workspace_prefix,
)
from dlf_status.domain.timestamps import format_utc, to_rfc3339
from dlf_status.domain.transitions import (
    TRANSITION_SCHEMA_VERSION,
    status_changes,
    status_view,
    transition_record,
)
from dlf_status.errors import (
    ClockAhead,
    EventPublishError,
    InvalidInput,
    JobNotFound,
    StoreConflict,
    StoreError,
    TransitionDeferred,
    UpstreamError,
    WriteOutcomeUnknown,
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
# latest.json versions a process remembers (a few hundred bytes each), and at most
# this many bytes of them all: the statuses remembered are upstream text.
REMEMBERED_JOBS: Final = 10_000
REMEMBERED_BYTES: Final = 16 * 1024 * 1024
# A job whose remembered statuses would take more than this is not remembered: its
# next observation reads latest.json again.
REMEMBERED_BYTES_PER_JOB: Final = 256 * 1024
# How far ahead of the upstream's clock (its Date header) ours may be before an
# observation is refused: a fast clock would freeze latest.json (an older observation
# never replaces a newer one). Above the longest call, so a slow answer is no skew.
CLOCK_TOLERANCE: Final = timedelta(minutes=2)
# How far off the gateway's clock a signed request's time (X-Sdk-Date) may be before
# the gateway refuses it. An answer to a signed call proves our clock within this of
# the gateway's, so its Date further behind ours is the upstream's clock that is wrong
# (or lying), not ours: it is logged and not trusted, and an upstream's wrong clock
# cannot stop the store. An IAM token carries no time the gateway checks: nothing
# proves our clock right, and the Date counts at any distance (README "Clocks").
GATEWAY_SIGNATURE_WINDOW: Final = timedelta(minutes=15)
# A tick lists a workspace's latest/ only when the keys there are not many more than
# the tick's jobs in it: at most one listing page more per this many jobs.
JOBS_PER_LISTING_PAGE: Final = 250
# Listing calls a new container spends finding a workspace's newest freshness record.
SEED_LISTINGS: Final = 4
# STORE_TIMEOUT's default, for a writer built without the settings (tests, tools).
DEFAULT_STORE_CALL_SECONDS: Final = 2.0
# What an invocation keeps after its last store call to answer (encode, log, return):
# no store call starts unless its worst case and this are left.
ANSWER_MARGIN_SECONDS: Final = 0.5


class WriteCheck(NamedTuple):
    """A check a store makes once, before its first write (the S3 store's proof that
    the store honours conditional writes and keeps user metadata: up to four PUTs and
    two HEADs). A writer with a deadline runs it itself, each of its calls started only
    while the invocation has that call at its worst (`call_seconds`) and the answer's
    margin left, as any store call of a write; a writer without one leaves it to the
    store's first write. `run` calls its argument before each of the check's calls."""

    pending: Callable[[], bool]
    run: Callable[[Callable[[], None]], None]
    call_seconds: float


class Observation(NamedTuple):
    document: StatusDocument
    body: bytes  # the document's canonical bytes, serialised once: stored and served
    snapshot: SnapshotOutcome
    # Set when the latest snapshot is served because the upstream failed: that failure,
    # and the snapshot's age (the answer's Age header).
    upstream_error: UpstreamError | None = None
    stale_age_seconds: float = 0.0
    store_error: StoreError | None = None
    # The document's content hash (sha256 of the canonical document without
    # observed_at): the HTTP answer's entity tag.
    content_hash: str = ""

    @property
    def stale(self) -> bool:
        """The latest snapshot stands in for an answer the upstream did not give."""
        return self.upstream_error is not None


class Observe(Protocol):
    """`StatusService.observe` as the entry points call it, or a stand-in for it."""

    def __call__(
        self, job: JobRef, *, remaining_seconds: RemainingSeconds | None = None
    ) -> Observation: ...


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
    # Its stored object, when read from a key an earlier release wrote (`_moved`).
    moved_from: StoredObject | None = None


class _Swap(NamedTuple):
    """One attempt at replacing latest.json: the bytes, what the writer will know of
    the new version once it is in (its version filled in then), the object's metadata
    (naming the record it owes, if any), and the outcome it reports."""

    body: bytes
    mine: _Latest
    headers: dict[str, str]
    outcome: SnapshotOutcome


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


def _remembered_bytes(latest: _Latest) -> int:
    """About what remembering `latest` costs: its text, and 64 bytes per value."""
    size = 256 + len(latest.version)
    statuses = latest.statuses
    if statuses is not None:
        nodes = statuses.get("nodes", ())
        size += 128 * (1 + len(nodes))
        for node in nodes:
            size += len(node.get("name") or "") + len(node.get("status_raw") or "")
        size += len(statuses.get("job", {}).get("status_raw") or "")
    if latest.due is not None and latest.due.body is not None:
        size += len(latest.due.body)
    return size


@dataclass
class TickFreshness:
    """What one scheduled tick knows of `latest/`, and the jobs it saw unchanged.

    Built by `SnapshotWriter.begin_tick` from one listing per workspace at the tick's
    start: a job whose listed latest.json is the version this process remembers
    writing, and whose content did not change, costs no store call; it is named in the
    workspace's freshness record instead (`SnapshotWriter.finish_tick`). A job absent
    from the listing needs no GET: its create-only PUT checks that it still is."""

    listed: dict[str, str]  # latest key -> version, for the prefixes listed
    prefixes: frozenset[str]  # workspace prefixes listed whole
    # What the newest freshness record confirmed of listed versions this process does
    # not remember (a new container): enough to confirm them again, never to compute
    # a transition, so never remembered.
    seeds: dict[str, Confirmation] = field(default_factory=dict)
    confirmed: dict[tuple[str, str | None], list[tuple[str, Confirmation]]] = field(
        default_factory=dict
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def covers(self, job: JobRef) -> bool:
        return workspace_prefix(LATEST_ROOT, job.project_id, job.workspace) in self.prefixes

    def confirm(self, job: JobRef, key: str, confirmation: Confirmation) -> None:
        with self.lock:
            self.confirmed.setdefault((job.project_id, job.workspace), []).append(
                (key, confirmation)
            )


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

    A writer stopped between the record and its event would lose the event (the
    next writer finds the record published), and Lambda's timeout stops a writer
    wherever it is: so a record is published only while the invocation's remaining
    time (`remaining_seconds`) covers its PUT (`store_call_seconds`) and the event's
    publish (`events.worst_case_seconds`), both at their worst. Otherwise it stays
    owed, and the next writer publishes both (`TransitionDeferred`).

    Every other store call of a write starts only while the remaining time covers it
    at its worst (`store_call_seconds`) and ANSWER_MARGIN_SECONDS, so that the caller
    still answers: otherwise the write stops between two calls with a `StoreError`.
    Each call leaves the store in a state the next writer completes (a history object
    or a staged record nobody names yet; a latest.json that owes its record), and the
    compare-and-swap retries stop the same way.
    """

    store: ObjectStore
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    max_attempts: int = MAX_LATEST_ATTEMPTS
    # The latest.json this process last wrote, per job: a warm container's next tick
    # replaces it with one conditional PUT instead of a GET and a PUT. A stale entry
    # (another writer got there since) only costs the failed PUT and a fresh read.
    remembered: int = REMEMBERED_JOBS
    remembered_bytes: int = REMEMBERED_BYTES
    clock: Callable[[], datetime] | None = None
    events: EventPublisher = field(default_factory=NoEvents)
    metrics: Metrics = field(default_factory=NullMetrics)
    # The longest one store call takes, retries included (the S3 adapter's
    # `s3_call_worst_case` of STORE_TIMEOUT in production).
    store_call_seconds: float = DEFAULT_STORE_CALL_SECONDS
    # The store's check before its first write, when it makes one (bootstrap).
    write_check: WriteCheck | None = None
    _seen: OrderedDict[str, tuple[_Latest, int]] = field(default_factory=OrderedDict, init=False)
    _seen_bytes: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _recall(self, key: str) -> _Latest | None:
        with self._lock:
            found = self._seen.get(key)
            return None if found is None else found[0]

    def _remember(self, key: str, latest: _Latest) -> None:
        size = _remembered_bytes(latest)
        with self._lock:
            old = self._seen.pop(key, None)
            if old is not None:
                self._seen_bytes -= old[1]
            if size > REMEMBERED_BYTES_PER_JOB:
                return  # upstream text this large is read again rather than kept
            self._seen[key] = (latest, size)
            self._seen_bytes += size
            while len(self._seen) > self.remembered or self._seen_bytes > self.remembered_bytes:
                _, (_, dropped) = self._seen.popitem(last=False)
                self._seen_bytes -= dropped

    def _settled(self, key: str, version: str) -> None:
        """The record owed by this version is published: stop owing it, if this
        version is still the one remembered."""
        with self._lock:
            found = self._seen.get(key)
            if found is not None and found[0].version == version and found[0].due is not None:
                settled = found[0]._replace(due=None)
                self._seen[key] = (settled, _remembered_bytes(settled))
                self._seen_bytes += self._seen[key][1] - found[1]

    def _forget(self, key: str) -> None:
        with self._lock:
            found = self._seen.pop(key, None)
            if found is not None:
                self._seen_bytes -= found[1]

    def begin_tick(self, jobs: Sequence[JobRef]) -> TickFreshness:
        """One listing of each workspace's `latest/` that the tick's jobs are in: the
        versions there now. A workspace holding many more keys than the tick polls
        (or whose listing fails) is left out: its jobs are written as without a tick."""
        wanted = Counter(workspace_prefix(LATEST_ROOT, j.project_id, j.workspace) for j in jobs)
        listed: dict[str, str] = {}
        prefixes: set[str] = set()
        for prefix, count in wanted.items():
            found: dict[str, str] = {}
            start_after = ""
            try:
                for _ in range(2 + count // JOBS_PER_LISTING_PAGE):
                    page = self.store.list_objects(prefix, start_after=start_after)
                    found.update((item.key, item.version) for item in page.objects)
                    if page.resume_after is None:
                        listed.update(found)
                        prefixes.add(prefix)
                        break
                    start_after = page.resume_after
            except StoreError as error:
                logger.warning(
                    "latest/ not listed", extra={"prefix": prefix, "detail": error.detail}
                )
        seeds: dict[str, Confirmation] = {}
        for project_id, workspace in {(job.project_id, job.workspace) for job in jobs}:
            prefix = workspace_prefix(LATEST_ROOT, project_id, workspace)
            if prefix in prefixes and any(
                key.startswith(prefix)
                and self._recall(key) is None
                and not is_earlier_release_latest(key)  # never remembered: no cause to seed
                for key in listed
            ):
                seeds.update(self._seeds(project_id, workspace, listed))
        return TickFreshness(listed, frozenset(prefixes), seeds=seeds)

    def _seeds(
        self, project_id: str, workspace: str | None, listed: dict[str, str]
    ) -> dict[str, Confirmation]:
        """The confirmations of the workspace's newest freshness record whose version
        of latest.json is still listed and not remembered: one listing and one GET."""
        prefix = workspace_prefix(FRESHNESS_ROOT, project_id, workspace)
        since = self._now() - timedelta(seconds=LATEST_REFRESH_SECONDS)
        start_after, newest = prefix + compact_time(since), ""
        try:
            for _ in range(SEED_LISTINGS):
                page = self.store.list_objects(prefix, start_after=start_after)
                newest = max([newest, *(item.key for item in page.objects)])
                if page.resume_after is None:
                    break
                start_after = page.resume_after
            stored = self.store.get(newest) if newest else None
        except StoreError as error:
            logger.warning("freshness not read", extra={"prefix": prefix, "detail": error.detail})
            return {}
        seeds: dict[str, Confirmation] = {}
        for confirmation in read_record(stored.body) if stored is not None else ():
            try:
                key = latest_key(JobRef.parse(project_id, confirmation.job_name, workspace))
            except InvalidInput:
                continue
            if listed.get(key) == confirmation.latest_version and self._recall(key) is None:
                seeds[key] = confirmation
        return seeds

    def finish_tick(
        self,
        tick: TickFreshness,
        tick_id: str,
        scheduled_time: datetime,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> dict[tuple[str, str | None, str], StoreError]:
        """Write each workspace's freshness record; returns the jobs (project,
        workspace, name) whose record could not be written, with why (a store failure,
        or no time left for the PUT at its worst and the answer: the tick's last job
        may end with little of the invocation left). Those are forgotten, so the next
        tick writes their latest.json."""
        failed: dict[tuple[str, str | None, str], StoreError] = {}
        now = self._now()
        for (project_id, workspace), entries in sorted(
            tick.confirmed.items(), key=lambda item: (item[0][0], item[0][1] or "")
        ):
            record = freshness_record(
                project_id=project_id,
                workspace=workspace,
                tick_id=tick_id,
                scheduled_time=scheduled_time,
                written_at=now,
                confirmations=sorted(confirmation for _, confirmation in entries),
            )
            key = freshness_key(project_id, workspace, now, f"{tick_id} {scheduled_time}")
            try:
                self._check_time_for(f"write the freshness record of {key!r}", remaining_seconds)
                self.store.create(key, jsoncodec.canonical_bytes(record), {})
            except StoreError as error:
                for latest, confirmation in entries:
                    self._forget(latest)
                    failed[(project_id, workspace, confirmation.job_name)] = StoreError(
                        f"the freshness record was not written ({error.detail})"
                    )
        return failed

    def _now(self) -> datetime:
        return self.clock() if self.clock is not None else datetime.now(UTC)

    def _unchanged_since(self, remembered: _Latest | None, observed_at: str, digest: str) -> bool:
        """Whether this observation only confirms the remembered latest.json: same
        content, newer, within the refresh interval, and owing no record."""
        if (
            remembered is None
            or remembered.due is not None
            or remembered.content_hash != digest
            or not remembered.observed_at < observed_at
        ):
            return False
        age = datetime.fromisoformat(observed_at) - datetime.fromisoformat(remembered.observed_at)
        return age.total_seconds() < LATEST_REFRESH_SECONDS

    def write(
        self,
        job: JobRef,
        document: StatusDocument,
        slot: datetime,
        encoded: EncodedDocument | None = None,
        tick: TickFreshness | None = None,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> SnapshotWrite:
        """History first, then latest.json, then the transition it implies: whatever
        fails later, what was observed is already kept, and no record is published
        for a replacement that did not happen. `encoded` is the document serialised
        (`encode_document`) when the caller has it already. Within a tick (`tick`), an
        unchanged job whose latest.json is still the one this process wrote is only
        confirmed: no store call."""
        body, digest = encoded or encode_document(document)
        observed_at = document["observed_at"]
        key = latest_key(job)
        remembered = self._recall(key)
        if tick is not None and tick.covers(job):
            listed = tick.listed.get(key)
            if remembered is not None and remembered.version != listed:
                self._forget(key)  # another writer replaced it since, or it is gone
                remembered = None
            seed = tick.seeds.get(key) if remembered is None else None
            if seed is not None and seed.latest_version == listed:
                known = _Latest(listed, seed.latest_observed_at, seed.content_hash, None)
                if self._unchanged_since(known, observed_at, digest):
                    remembered = known  # confirmed below, never remembered
            if self._unchanged_since(remembered, observed_at, digest):
                assert remembered is not None
                tick.confirm(
                    job,
                    key,
                    Confirmation(
                        job.job_name,
                        remembered.version,
                        digest,
                        observed_at,
                        remembered.observed_at,
                    ),
                )
                return SnapshotWrite(SnapshotOutcome.CONFIRMED)
            # Absent at the listing: no GET, the create-only PUT checks it still is.
            if remembered is None and listed is not None:
                self._check_time(job, "read latest.json", remaining_seconds)
            latest = remembered or (None if listed is None else _read_latest(self.store.get(key)))
        else:
            if remembered is None:
                self._check_time(job, "read latest.json", remaining_seconds)
            latest = remembered or _read_latest(self.store.get(key))
        moved = (
            None if latest is not None else self._moved(job, tick, observed_at, remaining_seconds)
        )
        metadata = SnapshotMetadata(SCHEMA_VERSION, digest, observed_at).as_headers()
        view = status_view(document)
        history_written = False

        def keep(latest: _Latest | None) -> None:
            nonlocal history_written
            if not history_written and (latest is None or latest.content_hash != digest):
                self._check_time(job, "write the history object", remaining_seconds)
                self.store.create(history_key(job, slot, digest), body, metadata)
                history_written = True

        def plan(latest: _Latest | None) -> _Swap | SnapshotOutcome:
            if latest is not None and (latest.observed_at, latest.content_hash) >= (
                observed_at,
                digest,
            ):
                self._check_future(job, latest, observed_at)
                return SnapshotOutcome.SUPERSEDED
            previous = latest if latest is not None else moved
            due = self._stage_transition(job, previous, document, view, digest, remaining_seconds)
            return _Swap(
                body,
                _Latest("", observed_at, digest, view, due),
                metadata if due is None else {**metadata, RECORD_METADATA: due.record_hash},
                SnapshotOutcome.CHANGED if history_written else SnapshotOutcome.UNCHANGED,
            )

        return self._compare_and_swap(job, key, latest, plan, remaining_seconds, keep=keep)

    def _compare_and_swap(
        self,
        job: JobRef,
        key: str,
        latest: _Latest | None,
        plan: Callable[[_Latest | None], _Swap | SnapshotOutcome],
        remaining_seconds: RemainingSeconds | None,
        *,
        keep: Callable[[_Latest | None], None] = lambda latest: None,
    ) -> SnapshotWrite:
        """Replace latest.json (`latest`, as read or remembered) with what `plan` makes
        of the version there, retried while other writers win: the one loop of `write`
        and `write_gone`, so that a fix to one is a fix to both.

        Each attempt `keep`s what must outlast any later failure (the history object),
        publishes the record the version to be replaced owes (replacing it first would
        lose the record), then asks `plan`: an outcome ends the write there
        (superseded, unchanged), a `_Swap` is tried by compare-and-swap. A refused swap
        reads latest.json again: a PUT the store applied unheard is refused by its own
        result, so latest.json holding this very swap (and its record) is this
        writer's; anything else is another writer's, and the next attempt plans anew."""
        repaired = 0
        for attempt in range(1, self.max_attempts + 1):
            keep(latest)
            if latest is not None and latest.due is not None:
                # Replacing this version before its record is out would lose the record.
                repaired += self._publish_owed(job, key, latest, latest.due, remaining_seconds)
            step = plan(latest)
            if isinstance(step, SnapshotOutcome):
                return SnapshotWrite(step, 0, repaired)
            mine = step.mine
            expected = None if latest is None else latest.version
            self._check_time(job, "replace latest.json", remaining_seconds)
            version = self.store.replace(key, step.body, step.headers, expected)
            if version is None:
                self._forget(key)
                self._check_time(job, "read latest.json again", remaining_seconds)
                latest = _read_latest(self.store.get(key))
                if latest is None or not _is_mine(
                    latest, mine.observed_at, mine.content_hash, mine.due
                ):
                    self.sleep(self.jitter() * 0.02 * attempt)
                    continue
                version = latest.version
            mine = mine._replace(version=version)
            self._remember(key, mine)
            published = self._publish_own(job, key, mine, mine.due, remaining_seconds)
            return SnapshotWrite(step.outcome, published, repaired)
        raise StoreConflict(
            f"latest.json of {job.job_name!r} kept changing under {self.max_attempts} attempts"
        )

    def _moved(
        self,
        job: JobRef,
        tick: TickFreshness | None,
        observed_at: str,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> _Latest | None:
        """The latest.json an earlier release wrote under the job's old key (a name
        beyond ASCII moved: snapshots.py), older than this observation: the first
        observation at the new key is a transition from it. Read only while the new key
        has none, so once per job; within a tick, only when the tick's listing has it."""
        old_key = moved_latest_key(job)
        if old_key is None or (
            tick is not None and tick.covers(job) and old_key not in tick.listed
        ):
            return None
        self._check_time(job, "read the latest.json of its old key", remaining_seconds)
        stored = self.store.get(old_key)
        moved = _read_latest(stored)
        if moved is None or not moved.observed_at < observed_at:
            return None
        # A record it owes is staged under the old key: not published.
        return moved._replace(due=None, moved_from=stored)

    def _check_future(self, job: JobRef, latest: _Latest, observed_at: str) -> None:
        """A latest.json observed well after this observation was made by a writer
        whose clock is ahead: it holds latest.json until real time catches up. Say so."""
        try:
            ahead = datetime.fromisoformat(latest.observed_at) - datetime.fromisoformat(observed_at)
        except ValueError:
            return
        if ahead > CLOCK_TOLERANCE:
            logger.warning(
                "latest.json observed in the future",
                extra={
                    "job_name": job.job_name,
                    "latest_observed_at": latest.observed_at,
                    "observed_at": observed_at,
                },
            )

    def _stage_transition(
        self,
        job: JobRef,
        latest: _Latest | None,
        document: StatusDocument,
        view: StatusView,
        digest: str,
        remaining_seconds: RemainingSeconds | None = None,
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
        return self._stage_record(job, record, document["observed_at"], digest, remaining_seconds)

    def _stage_record(
        self,
        job: JobRef,
        record: TransitionRecord,
        observed_at: str,
        digest: str,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> _DueRecord:
        body = jsoncodec.canonical_bytes(record)
        record_hash = hashlib.sha256(body).hexdigest()
        observed = datetime.fromisoformat(observed_at)
        self._check_time(job, "stage the transition record", remaining_seconds)
        self.store.create(staged_transition_key(job, observed, digest, record_hash), body, {})
        return _DueRecord(record_hash, body)

    def write_gone(
        self,
        job: JobRef,
        source: DocumentSource,
        observed_at: str,
        reason: GoneReason,
        remaining_seconds: RemainingSeconds | None = None,
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
        latest = self._recall(key)
        # A gone document remembered is no proof that latest.json still holds it:
        # another writer may have seen the job back since, and `unchanged` would then
        # lose this disappearance. Every other answer is proven by the swap itself.
        if latest is None or latest.gone:
            self._check_time(job, "read latest.json", remaining_seconds)
            latest = _read_latest(self.store.get(key))
        moved = (
            None if latest is not None else self._moved(job, None, observed_at, remaining_seconds)
        )
        if latest is None and moved is not None and moved.gone:
            # Reported gone by an earlier release: the same report, not a second one;
            # the new key gets it as it is, so the old key is not read again.
            self._check_time(job, "carry the gone report to the new key", remaining_seconds)
            if self._carry_gone(key, moved):
                return SnapshotWrite(SnapshotOutcome.UNCHANGED)
            self._check_time(job, "read latest.json again", remaining_seconds)
            latest = _read_latest(self.store.get(key))  # another writer was first

        def plan(latest: _Latest | None) -> _Swap | SnapshotOutcome:
            if latest is not None and latest.gone:
                return SnapshotOutcome.UNCHANGED
            previous = latest if latest is not None else moved
            known = previous is not None and previous.statuses is not None
            gone = gone_document(
                source,
                observed_at,
                error_code=reason["error_code"],
                error_msg=reason["error_msg"],
                last_observed_at=previous.observed_at if previous is not None and known else None,
                last_content_hash=previous.content_hash if previous is not None and known else None,
            )
            digest = content_hash(gone)
            if latest is not None and (latest.observed_at, latest.content_hash) >= (
                observed_at,
                digest,
            ):
                self._check_future(job, latest, observed_at)
                return SnapshotOutcome.SUPERSEDED
            due = None
            if previous is not None and previous.statuses is not None:
                record = gone_record(
                    previous.statuses,
                    gone,
                    previous_hash=previous.content_hash,
                    current_hash=digest,
                )
                if record is not None:
                    due = self._stage_record(job, record, observed_at, digest, remaining_seconds)
            metadata = SnapshotMetadata(GONE_SCHEMA_VERSION, digest, observed_at).as_headers()
            return _Swap(
                jsoncodec.canonical_bytes(gone),
                _Latest("", observed_at, digest, gone_view(observed_at), due, gone=True),
                metadata if due is None else {**metadata, RECORD_METADATA: due.record_hash},
                SnapshotOutcome.CHANGED,
            )

        return self._compare_and_swap(job, key, latest, plan, remaining_seconds)

    def _carry_gone(self, key: str, moved: _Latest) -> bool:
        """Create `key` with the gone document an earlier release left at the job's old
        key, as it is (no record: its report was made then). False when `key` exists."""
        stored = moved.moved_from
        if stored is None:
            return False
        metadata = {k: v for k, v in stored.metadata.items() if k != RECORD_METADATA}
        version = self.store.replace(key, stored.body, metadata, None)
        if version is None:
            return False
        self._remember(key, moved._replace(version=version, moved_from=None))
        return True

    def _publish_own(
        self,
        job: JobRef,
        key: str,
        mine: _Latest,
        due: _DueRecord | None,
        remaining_seconds: RemainingSeconds | None,
    ) -> int:
        """Publish the record this write's swap implies, or leave it owed (latest.json
        names it) when the invocation has no time for it and its event."""
        if due is None:
            return 0
        try:
            return self._publish_owed(job, key, mine, due, remaining_seconds)
        except TransitionDeferred as deferred:
            self.metrics.add("TransitionsDeferred", 1)
            logger.warning(
                "transition record deferred",
                extra={
                    "job_name": job.job_name,
                    "observed_at": mine.observed_at,
                    "detail": deferred.detail,
                },
            )
            return 0

    def _check_time(
        self, job: JobRef, what: str, remaining_seconds: RemainingSeconds | None
    ) -> None:
        """Raise `StoreError` unless the invocation's remaining time covers one store
        call at its worst and the answer after it: the write stops between calls."""
        self._check_time_for(
            f"{what} of {job.job_name!r}",
            remaining_seconds,
            "the write stops here and the next observation of the job completes it",
        )

    def _check_time_for(
        self,
        what: str,
        remaining_seconds: RemainingSeconds | None,
        then: str = "nothing is written",
    ) -> None:
        if remaining_seconds is None:
            return
        check = self.write_check
        if check is not None and check.pending():
            probe = f"check that the store honours conditional writes (before: {what})"
            call_seconds = check.call_seconds
            check.run(lambda: _require(call_seconds, remaining_seconds, probe, then))
        _require(self.store_call_seconds, remaining_seconds, what, then)

    def _check_time_for_record(
        self, job: JobRef, latest: _Latest, remaining_seconds: RemainingSeconds | None
    ) -> None:
        """Raise `TransitionDeferred` unless the invocation's remaining time covers the
        record's PUT and its event's publish, both at their worst, and the answer."""
        if remaining_seconds is None:
            return
        needed = self.store_call_seconds + self.events.worst_case_seconds + ANSWER_MARGIN_SECONDS
        left = remaining_seconds()
        if not left >= needed:  # NaN, as above, is no time
            raise TransitionDeferred(
                f"the transition record of {job.job_name!r} at {latest.observed_at} and its "
                f"event need up to {needed:g} s and the invocation has {left:.3f} s left; "
                "the next observation of the job publishes them"
            )

    def _publish_owed(
        self,
        job: JobRef,
        key: str,
        latest: _Latest,
        due: _DueRecord,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> int:
        """Publish the record `latest` owes; 1 when this call made it appear.

        Without the bytes (another process staged them), the published key is read
        first: almost always the record is there already."""
        observed = datetime.fromisoformat(latest.observed_at)
        published_key = transition_key(job, observed, latest.content_hash)
        context = {"job_name": job.job_name, "observed_at": latest.observed_at}
        body = due.body
        if body is None:
            self._check_time(job, "read an owed transition record", remaining_seconds)
            if self.store.get(published_key) is not None:
                self._settled(key, latest.version)
                return 0
            staged_key = staged_transition_key(job, observed, latest.content_hash, due.record_hash)
            self._check_time(job, "read a staged transition record", remaining_seconds)
            staged = self.store.get(staged_key)
            if staged is None or hashlib.sha256(staged.body).hexdigest() != due.record_hash:
                logger.error("transition record lost", extra={**context, "staged_key": staged_key})
                self._settled(key, latest.version)
                return 0
            body = staged.body
        record_metadata = SnapshotMetadata(
            _record_version(body), latest.content_hash, latest.observed_at
        ).as_headers()
        self._check_time_for_record(job, latest, remaining_seconds)
        try:
            created = self.store.create(published_key, body, record_metadata)
        except WriteOutcomeUnknown as unknown:
            # Perhaps this call published it: if so, no later writer sends its event
            # (each finds the record there). Sent now, under the id every sender uses,
            # a duplicate is one a consumer drops; a lost event is a missed page. The
            # record stays owed: whoever finds it missing still publishes it.
            logger.warning(
                "transition record may be published",
                extra={**context, "detail": unknown.detail},
            )
            self._publish_event(published_key, body, context, remaining_seconds)
            raise StoreError(
                f"the transition record of {job.job_name!r} at {latest.observed_at} may "
                f"not be published ({unknown.detail}); its event is sent, and the next "
                "observation of the job publishes the record if it is missing"
            ) from None
        except StoreError as error:
            raise StoreError(
                f"the transition record of {job.job_name!r} at {latest.observed_at} is not "
                f"published yet ({error.detail}); the next observation of the job publishes it"
            ) from None
        if created:
            self._publish_event(published_key, body, context, remaining_seconds)
        self._settled(key, latest.version)
        if created and due.body is None:
            logger.warning("transition record published late", extra=context)
        return int(created)

    def _publish_event(
        self,
        published_key: str,
        body: bytes,
        context: dict[str, str],
        remaining_seconds: RemainingSeconds | None = None,
    ) -> None:
        """The record just published, sent as a CloudEvent. Never raises: the snapshot
        and the record are written, and the outcome is the store's."""
        location = self.store.location
        dataref = None
        if location.startswith("s3://"):
            # An RFC 3986 URI (CloudEvents' dataref): the key's '%', spaces and
            # characters beyond ASCII percent-encoded, so its path decodes to the key.
            where = f"{location.removeprefix('s3://')}/{published_key}"
            dataref = f"s3://{quote(where, safe='/=')}"
        try:
            record = jsoncodec.loads(body, jsoncodec.STORED)
            event_id = self.events.publish_transition(
                record, dataref=dataref, remaining_seconds=remaining_seconds
            )
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


def _require(
    call_seconds: float, remaining_seconds: RemainingSeconds, what: str, then: str
) -> None:
    """Raise `StoreError` unless the invocation's remaining time covers a store call of
    `call_seconds` at its worst and the answer after it."""
    left = remaining_seconds()
    # `not >=`: a remaining time that is not a number (NaN) is no time at all.
    if not left >= call_seconds + ANSWER_MARGIN_SECONDS:
        raise StoreError(
            f"no time left to {what}: a store call may take {call_seconds:g} s and the "
            f"invocation has {left:.3f} s left; {then}"
        )


def _clock_ahead(
    observed_at: datetime, date_header: str | None, *, signed: bool
) -> timedelta | None:
    """How far `observed_at` is ahead of the upstream's Date, when beyond tolerance and,
    for a `signed` call, within the gateway's signature window (GATEWAY_SIGNATURE_WINDOW)."""
    if not date_header:
        return None
    try:
        upstream = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if upstream.tzinfo is None:
        return None
    ahead = observed_at - upstream
    if signed and ahead > GATEWAY_SIGNATURE_WINDOW:
        logger.warning(
            "upstream clock not trusted",
            extra={
                "ahead_seconds": round(ahead.total_seconds()),
                "limit_seconds": int(GATEWAY_SIGNATURE_WINDOW.total_seconds()),
            },
        )
        return None
    return ahead if ahead > CLOCK_TOLERANCE else None


def _is_mine(latest: _Latest, observed_at: str, digest: str, due: _DueRecord | None) -> bool:
    """Whether `latest` (read back) is the swap of this observation and its record."""
    if (latest.observed_at, latest.content_hash) != (observed_at, digest):
        return False
    if due is None:
        return latest.due is None
    return latest.due is not None and latest.due.record_hash == due.record_hash


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
    # The longest one store call takes (STORE_TIMEOUT).
    store_call_seconds: float = DEFAULT_STORE_CALL_SECONDS
    # The store's check before its first write (see `WriteCheck`), if it makes one.
    write_check: WriteCheck | None = None
    # Opened around each observation: a large answer's permit, taken by the upstream
    # client while it reads (adapters/answer_budget.py), is held until the document
    # is interpreted, normalised and written, then given back. None by default.
    answer_scope: Callable[[], AbstractContextManager[object]] = nullcontext
    writer: SnapshotWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = SnapshotWriter(
            self.store,
            events=self.events,
            metrics=self.metrics,
            store_call_seconds=self.store_call_seconds,
            write_check=self.write_check,
        )

    def observe(
        self,
        job: JobRef,
        *,
        slot: datetime | None = None,
        serve_stale: bool | None = None,
        tick: TickFreshness | None = None,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> Observation:
        """Fetch, validate, normalise and store one job's status.

        Raises `JobNotFound` and, when no snapshot can stand in (or `serve_stale` is
        False), the `UpstreamError`. A store failure never hides the answer: it is
        reported in the result. `slot` names the history object (see snapshots.py);
        `tick`, what a scheduled tick knows of the store (see `TickFreshness`);
        `remaining_seconds`, the invocation's time left (see `SnapshotWriter`).
        The whole observation runs in `answer_scope`: processing a large answer, not
        only reading it, is what costs its memory.
        """
        with self.answer_scope():
            return self._observe(job, slot, serve_stale, tick, remaining_seconds)

    def _observe(
        self,
        job: JobRef,
        slot: datetime | None,
        serve_stale: bool | None,
        tick: TickFreshness | None,
        remaining_seconds: RemainingSeconds | None,
    ) -> Observation:
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
            ahead = _clock_ahead(observed_at, call.response.headers.get("Date"), signed=call.signed)
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
            stale = self._stale(job, error, remaining_seconds) if allowed else None
            if stale is None:
                raise
            return stale
        self._report_validation(job, document)
        if ahead is not None:
            return self._refuse_clock(document, context, ahead)
        return self._store(job, document, slot or observed_at, context, tick, remaining_seconds)

    def _refuse_clock(
        self, document: StatusDocument, context: dict[str, Any], ahead: timedelta
    ) -> Observation:
        """An observation timed by a clock ahead of the upstream's is not stored: it
        would hold latest.json against every correct writer until real time caught up."""
        error = ClockAhead(
            f"this machine's clock is {ahead.total_seconds():.0f} s ahead of the upstream's "
            "Date: the observation is not stored (synchronise the clock)"
        )
        self.metrics.add("SnapshotWriteFailures", 1)
        logger.error(
            "snapshot write failed",
            extra={**context, "error": "ClockAhead", "detail": error.detail},
        )
        return Observation(
            document,
            encode_document(document).body,
            SnapshotOutcome.FAILED,
            store_error=error,
        )

    def record_gone(
        self, job: JobRef, error: JobNotFound, remaining_seconds: RemainingSeconds | None = None
    ) -> GoneMark:
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
            written = self.writer.write_gone(job, source, observed_at, reason, remaining_seconds)
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
        self,
        job: JobRef,
        document: StatusDocument,
        slot: datetime,
        context: dict[str, Any],
        tick: TickFreshness | None = None,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> Observation:
        """Write the snapshot; one log line says how the whole observation went."""
        # Serialised once: the same bytes are stored, hashed and served.
        encoded = encode_document(document)
        try:
            written = self.writer.write(job, document, slot, encoded, tick, remaining_seconds)
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
                content_hash=encoded.content_hash,
            )
        if written.transitions or written.repaired:
            self.metrics.add("Transitions", written.transitions + written.repaired)
        # A tick's report and summary line account for every job: there, a job's own
        # line is worth its cost (a twentieth of a job's CPU) only when a status changed.
        quiet = tick is not None and not (written.transitions or written.repaired)
        (logger.debug if quiet else logger.info)(
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
            content_hash=encoded.content_hash,
        )

    def _stale(
        self,
        job: JobRef,
        error: UpstreamError,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> Observation | None:
        """The latest snapshot, marked stale, or None when there is none to serve (or
        no time left to read it at the store's worst and still answer)."""
        if remaining_seconds is not None:
            left = remaining_seconds()
            # `not >=`: a remaining time that is not a number (NaN) is no time at all.
            if not left >= self.store_call_seconds + ANSWER_MARGIN_SECONDS:
                logger.warning(
                    "no stale fallback",
                    extra={"detail": f"no time left to read it ({left:.3f} s left)"},
                )
                return None
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
        age = round(max(age, 0.0), 3)
        document["stale"] = True
        document["stale_age_seconds"] = age
        self.metrics.add("StaleServed", 1)
        logger.warning(
            "serving stale snapshot", extra={"age_seconds": age, "error": type(error).__name__}
        )
        return Observation(
            document,
            jsoncodec.canonical_bytes(document),
            SnapshotOutcome.NOT_WRITTEN,
            upstream_error=error,
            stale_age_seconds=age,
            content_hash=digest,
        )
