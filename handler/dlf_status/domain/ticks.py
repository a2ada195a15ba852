"""A scheduled tick: which jobs to poll, under which id and slot. Pure.

The job list is `[{"project_id", "job_name", "workspace"?}, ...]`, bare or under
"jobs". Entries that are not valid jobs are kept and reported, never dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import SnapshotOutcome
from dlf_status.domain.timestamps import to_rfc3339
from dlf_status.errors import InvalidInput


class InvalidJobEntry(NamedTuple):
    """A list entry that is not a job, with why; reported as a failed outcome."""

    position: int  # in the list, from 0
    reason: str


JobEntry = JobRef | InvalidJobEntry


class Tick(NamedTuple):
    tick_id: str
    scheduled_time: datetime
    entries: tuple[JobEntry, ...]
    duplicates: int = 0


class JobResult(enum.StrEnum):
    """How one job of a tick (or one queued job) ended."""

    OK = "ok"  # observed, and its snapshot written (or already there)
    FAILED = "failed"  # see the outcome's error, detail and retryable
    NOT_REACHED = "not-reached"  # the tick ran out of time before it
    ENQUEUED = "enqueued"  # handed to the fan-out queue


class JobOutcome(NamedTuple):
    """What happened to one job of a tick."""

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

    @property
    def failed(self) -> bool:
        return self.result is JobResult.FAILED

    def as_json(self) -> dict[str, Any]:
        return {
            key: value.value if isinstance(value, enum.Enum) else value
            for key, value in self._asdict().items()
            if value is not None
        }


@dataclass
class TickReport:
    tick_id: str
    scheduled_time: str
    outcomes: list[JobOutcome] = field(default_factory=list)
    duplicates: int = 0

    def count(self, result: JobResult) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result is result)

    @property
    def all_succeeded(self) -> bool:
        return all(
            outcome.result in (JobResult.OK, JobResult.ENQUEUED) for outcome in self.outcomes
        )

    def summary(self) -> dict[str, Any]:
        return {
            "tick_id": self.tick_id,
            "scheduled_time": self.scheduled_time,
            "jobs": len(self.outcomes),
            "ok": self.count(JobResult.OK),
            "failed": self.count(JobResult.FAILED),
            "not_reached": self.count(JobResult.NOT_REACHED),
            "enqueued": self.count(JobResult.ENQUEUED),
            "duplicates": self.duplicates,
        }

    def as_json(self) -> dict[str, Any]:
        return {**self.summary(), "outcomes": [outcome.as_json() for outcome in self.outcomes]}


def job_entries(raw: Any) -> tuple[tuple[JobEntry, ...], int]:
    """Parse a job list into jobs (first occurrence kept) and invalid entries; also
    return how many duplicates were dropped."""
    if isinstance(raw, Mapping) and "jobs" in raw:
        raw = raw["jobs"]
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise InvalidInput("the job list must be a list of {project_id, job_name, workspace}")
    entries: list[JobEntry] = []
    seen: set[JobRef] = set()
    duplicates = 0
    for position, item in enumerate(raw):
        if not isinstance(item, Mapping):
            entries.append(InvalidJobEntry(position, "not an object"))
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
    return tuple(entries), duplicates


def tick_slot(scheduled_time: str | None, now: datetime) -> datetime:
    """The time that names a tick's history objects: the schedule's (so a retried
    delivery lands on the same keys), or `now` when the event names none."""
    if scheduled_time is None:
        return now
    parsed, why = to_rfc3339(scheduled_time)
    if parsed is None:
        raise InvalidInput(f"scheduled_time {scheduled_time!r:.40} is not a time: {why}")
    return datetime.fromisoformat(parsed)
