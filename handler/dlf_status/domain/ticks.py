"""A scheduled tick: which jobs to poll, under which id and slot. Pure.

The job list is `[{"project_id", "job_name", "workspace"?}, ...]`, bare or under
"jobs". Entries that are not valid jobs are kept and reported, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dlf_status.domain.model import JobRef
from dlf_status.errors import InvalidInput


@dataclass(frozen=True)
class InvalidJobEntry:
    """A list entry that is not a job, with why; reported as a failed outcome."""

    index: int
    reason: str
    raw: str  # a short, printable rendering of the entry


JobEntry = JobRef | InvalidJobEntry


@dataclass(frozen=True)
class Tick:
    tick_id: str
    scheduled_time: datetime
    entries: tuple[JobEntry, ...]
    duplicates: int = 0
    source: str = "event"  # where the job list came from: "event" or the JOBS_URI


@dataclass(frozen=True)
class JobOutcome:
    """What happened to one job of a tick; `result` is ok, failed, not-reached or enqueued."""

    project_id: str | None
    job_name: str | None
    workspace: str | None
    result: str
    status: str | None = None
    snapshot: str | None = None
    error: str | None = None  # the error's class name, for people
    detail: str | None = None
    elapsed_ms: float | None = None
    # For a failure: whether a later try may mend it, decided from the error itself
    # (`errors.is_retryable`) where it was caught.
    retryable: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


@dataclass
class TickReport:
    tick_id: str
    scheduled_time: str
    outcomes: list[JobOutcome] = field(default_factory=list)
    duplicates: int = 0

    def count(self, result: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == result)

    @property
    def all_succeeded(self) -> bool:
        return all(outcome.result in ("ok", "enqueued") for outcome in self.outcomes)

    def summary(self) -> dict[str, Any]:
        return {
            "tick_id": self.tick_id,
            "scheduled_time": self.scheduled_time,
            "jobs": len(self.outcomes),
            "ok": self.count("ok"),
            "failed": self.count("failed"),
            "not_reached": self.count("not-reached"),
            "enqueued": self.count("enqueued"),
            "duplicates": self.duplicates,
        }

    def as_json(self) -> dict[str, Any]:
        return {**self.summary(), "outcomes": [outcome.as_json() for outcome in self.outcomes]}


def _render(entry: Any) -> str:
    return repr(entry)[:120]


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
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            entries.append(InvalidJobEntry(index, "not an object", _render(item)))
            continue
        try:
            job = JobRef.parse(item.get("project_id"), item.get("job_name"), item.get("workspace"))
        except InvalidInput as error:
            entries.append(InvalidJobEntry(index, error.detail, _render(dict(item))))
            continue
        if job in seen:
            duplicates += 1
            continue
        seen.add(job)
        entries.append(job)
    return tuple(entries), duplicates
