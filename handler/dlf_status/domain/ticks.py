"""A scheduled tick: which jobs to poll, under which id and slot. Pure.

The job list is `[{"project_id", "job_name", "workspace"?}, ...]`, bare or under
"jobs". An entry may instead ask for discovery: `{"project_id", "workspace"?,
"discover": true, "tags"?: [...], "name_pattern"?: "<glob>"}`, which a tick expands
into the real-time jobs the job list API names (tick_discovery.py). Entries that are
neither are kept and reported, never dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, NamedTuple

from dlf_status.domain.listing import DiscoverySpec
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import SnapshotOutcome
from dlf_status.domain.timestamps import to_rfc3339
from dlf_status.errors import InvalidInput


class InvalidJobEntry(NamedTuple):
    """A list entry that is not a job, with why; reported as a failed outcome."""

    position: int  # in the list, from 0
    reason: str


JobEntry = JobRef | InvalidJobEntry


class DiscoveryEntry(NamedTuple):
    """A list entry that asks for the real-time jobs a discovery spec selects."""

    position: int  # in the list, from 0
    spec: DiscoverySpec


class Tick(NamedTuple):
    tick_id: str
    scheduled_time: datetime
    entries: tuple[JobEntry, ...]
    duplicates: int = 0
    discoveries: tuple[DiscoveryEntry, ...] = ()
    # Jobs that left a complete listing: polled to confirm they are gone (a JobNotFound
    # then marks them gone instead of failing them). Always among `entries`.
    gone_candidates: frozenset[JobRef] = frozenset()


class JobResult(enum.StrEnum):
    """How one job of a tick (or one queued job) ended."""

    OK = "ok"  # observed, and its snapshot written (or already there)
    FAILED = "failed"  # see the outcome's error, detail and retryable
    NOT_REACHED = "not-reached"  # the tick ran out of time before it
    ENQUEUED = "enqueued"  # handed to the fan-out queue
    GONE = "gone"  # left the job list, and its status call said it does not exist


class JobOutcome(NamedTuple):
    """What happened to one job of a tick. Its coordinates are flat, not a JobRef: a
    failed discovery's row names a project (and workspace) but no job, and a refused
    entry names none."""

    project_id: str | None
    job_name: str | None
    workspace: str | None
    result: JobResult
    status: str | None = None
    snapshot: SnapshotOutcome | None = None
    error: str | None = None  # the error's class name, for people
    detail: str | None = None
    elapsed_ms: float | None = None
    # For a failure: whether a later try may mend it, decided from the error itself
    # (`errors.is_retryable`) where it was caught.
    retryable: bool | None = None

    @classmethod
    def of(cls, job: JobRef, result: JobResult, **details: Any) -> JobOutcome:
        """`job`'s outcome: the one place a JobRef is flattened into one."""
        return cls(job.project_id, job.job_name, job.workspace, result, **details)

    @property
    def failed(self) -> bool:
        return self.result is JobResult.FAILED

    def as_json(self) -> dict[str, Any]:
        return {
            key: value.value if isinstance(value, enum.Enum) else value
            for key, value in self._asdict().items()
            if value is not None
        }


class DiscoveryOutcome(NamedTuple):
    """What one discovery entry of a tick did: the jobs it found (and how many of them
    the tick did not have already), what the listing cost and said, and, when it
    failed, why, whether a retry may mend it, and how many jobs of its last complete
    listing were polled instead."""

    project_id: str
    workspace: str | None
    tags: tuple[str, ...]
    name_pattern: str | None
    ok: bool
    jobs: int = 0  # the jobs it names (found, or the last complete listing's on failure)
    added: int = 0  # of those, the ones no earlier entry of the tick named
    complete: bool = False  # the listing was read whole: jobs that left it are suspects
    gone_candidates: int = 0  # jobs of the last complete listing missing from this one
    requests: int = 0  # job list requests made, a failed discovery's included
    unpollable: int = 0  # listed names no status call can take
    findings: tuple[str, ...] = ()
    error: str | None = None
    detail: str | None = None
    retryable: bool | None = None

    def describe(self) -> str:
        """The discovery in words, for a report row: `project P, workspace W, tags [...]`."""
        words = [f"project {self.project_id}"]
        if self.workspace is not None:
            words.append(f"workspace {self.workspace}")
        if self.tags:
            words.append(f"tags {list(self.tags)}")
        if self.name_pattern is not None:
            words.append(f"name_pattern {self.name_pattern!r}")
        return ", ".join(words)

    def as_json(self) -> dict[str, Any]:
        found = {**self._asdict(), "tags": list(self.tags), "findings": list(self.findings)}
        return {key: value for key, value in found.items() if value is not None}


@dataclass
class TickReport:
    tick_id: str
    scheduled_time: str
    outcomes: list[JobOutcome] = field(default_factory=list)
    duplicates: int = 0
    discoveries: list[DiscoveryOutcome] = field(default_factory=list)

    def count(self, result: JobResult) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result is result)

    @property
    def all_succeeded(self) -> bool:
        return all(
            outcome.result in (JobResult.OK, JobResult.ENQUEUED, JobResult.GONE)
            for outcome in self.outcomes
        )

    def summary(self) -> dict[str, Any]:
        summary = {
            "tick_id": self.tick_id,
            "scheduled_time": self.scheduled_time,
            "jobs": len(self.outcomes),
            "ok": self.count(JobResult.OK),
            "failed": self.count(JobResult.FAILED),
            "not_reached": self.count(JobResult.NOT_REACHED),
            "enqueued": self.count(JobResult.ENQUEUED),
            "gone": self.count(JobResult.GONE),
            "duplicates": self.duplicates,
        }
        if self.discoveries:
            summary["discovered"] = sum(found.jobs for found in self.discoveries if found.ok)
            summary["discovery_failures"] = sum(1 for found in self.discoveries if not found.ok)
        return summary

    def as_json(self) -> dict[str, Any]:
        found = {**self.summary(), "outcomes": [outcome.as_json() for outcome in self.outcomes]}
        if self.discoveries:
            found["discoveries"] = [discovery.as_json() for discovery in self.discoveries]
        return found


class JobList(NamedTuple):
    """A job list parsed: jobs and invalid entries in list order (first occurrence
    kept), discovery entries, and how many duplicates of either were dropped."""

    entries: tuple[JobEntry, ...]
    discoveries: tuple[DiscoveryEntry, ...]
    duplicates: int


# The keys a discovery entry may have: a misspelt one (`name_patern`) would otherwise
# widen the discovery to every job of the workspace.
_DISCOVERY_KEYS: Final = frozenset({"project_id", "workspace", "discover", "tags", "name_pattern"})


def _discovery_entry(position: int, item: Mapping[str, Any]) -> DiscoveryEntry | InvalidJobEntry:
    if item["discover"] is not True:
        return InvalidJobEntry(position, "discover must be true (a discovery entry)")
    unknown = sorted(str(key)[:40] for key in item.keys() - _DISCOVERY_KEYS)[:5]
    if unknown:
        return InvalidJobEntry(
            position,
            f"a discovery entry takes project_id, workspace, discover, tags and name_pattern, "
            f"not {unknown}",
        )
    try:
        spec = DiscoverySpec.parse(
            item.get("project_id"),
            item.get("workspace"),
            item.get("tags"),
            item.get("name_pattern"),
        )
    except InvalidInput as error:
        return InvalidJobEntry(position, error.detail)
    return DiscoveryEntry(position, spec)


def parse_job_list(raw: Any, *, discovery: bool = True) -> JobList:
    """Parse a job list into jobs, invalid entries and discovery entries. Without
    `discovery` (one queued job), a discovery entry is an invalid entry."""
    if isinstance(raw, Mapping) and "jobs" in raw:
        raw = raw["jobs"]
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise InvalidInput("the job list must be a list of {project_id, job_name, workspace}")
    entries: list[JobEntry] = []
    discoveries: list[DiscoveryEntry] = []
    seen: set[JobRef | DiscoverySpec] = set()
    duplicates = 0
    for position, item in enumerate(raw):
        if not isinstance(item, Mapping):
            entries.append(InvalidJobEntry(position, "not an object"))
            continue
        if "discover" in item:
            found = (
                _discovery_entry(position, item)
                if discovery
                else InvalidJobEntry(position, "a discovery entry is expanded by a tick only")
            )
            if isinstance(found, InvalidJobEntry):
                entries.append(found)
            elif found.spec in seen:
                duplicates += 1
            else:
                seen.add(found.spec)
                discoveries.append(found)
            continue
        try:
            job = JobRef.parse(item.get("project_id"), item.get("job_name"), item.get("workspace"))
        except InvalidInput as error:
            entries.append(InvalidJobEntry(position, error.detail))
            continue
        if job in seen:
            duplicates += 1
            continue
        seen.add(job)
        entries.append(job)
    return JobList(tuple(entries), tuple(discoveries), duplicates)


def job_entries(raw: Any) -> tuple[tuple[JobEntry, ...], int]:
    """Parse a list of jobs only (a discovery entry is an invalid entry here) into jobs
    (first occurrence kept) and invalid entries; also return how many duplicates were
    dropped."""
    parsed = parse_job_list(raw, discovery=False)
    return parsed.entries, parsed.duplicates


def tick_slot(scheduled_time: str | None, now: datetime) -> datetime:
    """The time that names a tick's history objects: the schedule's (so a retried
    delivery lands on the same keys), or `now` when the event names none."""
    if scheduled_time is None:
        return now
    parsed, why = to_rfc3339(scheduled_time)
    if parsed is None:
        raise InvalidInput(f"scheduled_time {scheduled_time!r:.40} is not a time: {why}")
    return datetime.fromisoformat(parsed)
