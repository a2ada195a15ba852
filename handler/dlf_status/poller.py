"""Scheduled ticks: poll many jobs concurrently, or hand them to a queue.

One failing job never stops the others: every job ends with an outcome (ok,
failed, not-reached, enqueued). The tick respects the function's remaining time:
a job is started only while there is time for it to finish, and the jobs not
reached are reported, not dropped.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import Clock, JobQueue, Metrics
from dlf_status.domain.snapshots import SnapshotOutcome
from dlf_status.domain.ticks import (
    InvalidJobEntry,
    JobOutcome,
    JobResult,
    Tick,
    TickReport,
    job_entries,
    parse_job_list,
    tick_slot,
)
from dlf_status.domain.timestamps import format_utc
from dlf_status.errors import (
    ConfigurationError,
    DlfStatusError,
    InvalidInput,
    JobNotFound,
    is_retryable,
)
from dlf_status.observability import logger
from dlf_status.service import StatusService, TickFreshness

if TYPE_CHECKING:
    from dlf_status.tick_discovery import TickDiscovery

# SQS takes at most ten messages per SendMessageBatch call.
QUEUE_BATCH: Final = 10
# How far a tick's slot may be from this clock. A schedule's time is never ahead of
# its invocation (a few seconds of skew aside); a queued job's may be as old as the
# job queue keeps a message (14 days). A slot outside names history objects that
# date-range readers would never look for (year 9999, 1970): refused.
SLOT_AHEAD: Final = timedelta(minutes=15)
SLOT_BEHIND: Final = timedelta(days=15)


def slot_near(scheduled_time: str | None, now: datetime) -> datetime:
    """The tick's slot (`tick_slot`), refused when it is further from `now` than a
    schedule or the job queue could make it (`SLOT_AHEAD`, `SLOT_BEHIND`)."""
    slot = tick_slot(scheduled_time, now)
    if slot > now + SLOT_AHEAD or slot < now - SLOT_BEHIND:
        raise InvalidInput(
            f"scheduled_time {format_utc(slot)} is too far from this clock's "
            f"{format_utc(now)}: a tick's slot is at most "
            f"{SLOT_AHEAD.seconds // 60} minutes ahead and {SLOT_BEHIND.days} days behind",
            field="scheduled_time",
        )
    return slot


def _refused(detail: str) -> JobOutcome:
    """A job list entry or a queued message that names no job: failed, for good."""
    return JobOutcome(
        None,
        None,
        None,
        JobResult.FAILED,
        error=InvalidInput.__name__,
        detail=detail,
        retryable=InvalidInput.retryable,
    )


def _invalid(entry: InvalidJobEntry) -> JobOutcome:
    return _refused(f"entry {entry.position}: {entry.reason}")


def _not_reached(job: JobRef) -> JobOutcome:
    return JobOutcome.of(
        job, JobResult.NOT_REACHED, detail="the tick ran out of time before this job"
    )


def poll_job(
    service: StatusService,
    job: JobRef,
    slot: datetime,
    tick: TickFreshness | None = None,
    *,
    gone_candidate: bool = False,
    remaining_seconds: Callable[[], float] | None = None,
) -> JobOutcome:
    """Observe one job for a tick; every failure becomes an outcome, none escapes.

    A `gone_candidate` left a complete job listing (tick_discovery.py): if its status
    call says it does not exist, it is marked gone (once) rather than failed. `tick`:
    what the tick knows of the store (see `TickFreshness`); `remaining_seconds`, the
    invocation's time left, which no transition record and its event may outrun."""
    started = time.monotonic()

    def outcome(result: JobResult, **details: Any) -> JobOutcome:
        elapsed = round((time.monotonic() - started) * 1000, 1)
        return JobOutcome.of(job, result, elapsed_ms=elapsed, **details)

    def failed(error: BaseException, detail: str, **details: Any) -> JobOutcome:
        # The policy is decided here, from the exception object; only then is it text.
        return outcome(
            JobResult.FAILED,
            error=type(error).__name__,
            detail=detail,
            retryable=is_retryable(error),
            **details,
        )

    try:
        observation = service.observe(
            job, slot=slot, serve_stale=False, tick=tick, remaining_seconds=remaining_seconds
        )
    except JobNotFound as error:
        if not gone_candidate:
            return failed(error, error.detail)
        mark = service.record_gone(job, error, remaining_seconds)
        if mark.store_error is not None:
            return failed(mark.store_error, mark.store_error.detail, snapshot=mark.snapshot)
        if mark.snapshot is SnapshotOutcome.SUPERSEDED:
            # latest.json holds an observation made after this answer: the job is back.
            detail = f"{error.detail}; not marked gone: a later observation is its latest"
            return failed(error, detail, snapshot=mark.snapshot)
        # `changed`: this tick reported it gone; `unchanged`: another writer had.
        return outcome(JobResult.GONE, snapshot=mark.snapshot, detail=error.detail)
    except DlfStatusError as error:
        return failed(error, error.detail)
    except Exception as error:  # noqa: BLE001 - one job's bug must not stop the tick
        logger.exception("unexpected error polling a job", extra={"job_name": job.job_name})
        return failed(error, "unexpected error; see logs")
    status = observation.document["job"]["status"]
    store_error = observation.store_error
    if store_error is not None:  # the snapshot failed: the answer was not stored
        return failed(
            store_error, store_error.detail, status=status, snapshot=SnapshotOutcome.FAILED
        )
    return outcome(JobResult.OK, status=status, snapshot=observation.snapshot)


@dataclass
class Poller:
    """Polls a tick's jobs in place, sized from the settings by bootstrap."""

    service: StatusService
    metrics: Metrics
    concurrency: int
    # A job is started only when this much time is left: a whole upstream deadline
    # plus room to store the snapshot.
    job_allowance_seconds: float

    def run(
        self,
        tick: Tick,
        remaining_seconds: Callable[[], float] | None = None,
        on_outcome: Callable[[JobOutcome], None] | None = None,
    ) -> TickReport:
        """Poll every job while `remaining_seconds` leaves time for one; then write the
        freshness records of the jobs seen unchanged (a job whose record cannot be
        written is reported failed, so none is lost). `on_outcome` hears of a confirmed
        job only once its record is written."""
        started = time.monotonic()
        outcomes: list[JobOutcome | None] = [None] * len(tick.entries)
        writer = self.service.writer
        jobs = [entry for entry in tick.entries if isinstance(entry, JobRef)]
        freshness = writer.begin_tick(jobs) if jobs else None
        held: list[tuple[int, JobRef]] = []

        def record(index: int, outcome: JobOutcome) -> None:
            outcomes[index] = outcome
            entry = tick.entries[index]
            if outcome.snapshot is SnapshotOutcome.CONFIRMED and isinstance(entry, JobRef):
                held.append((index, entry))
            elif on_outcome is not None:
                on_outcome(outcome)

        self._poll_all(tick, freshness, remaining_seconds, record)
        if freshness is not None and freshness.confirmed:
            failed = writer.finish_tick(
                freshness, tick.tick_id, tick.scheduled_time, remaining_seconds
            )
            for index, job in held:
                outcome = outcomes[index]
                assert outcome is not None
                error = failed.get((job.project_id, job.workspace, job.job_name))
                if error is not None:
                    outcome = outcome._replace(
                        result=JobResult.FAILED,
                        snapshot=SnapshotOutcome.FAILED,
                        error=type(error).__name__,
                        detail=error.detail,
                        retryable=is_retryable(error),
                    )
                    outcomes[index] = outcome
                if on_outcome is not None:
                    on_outcome(outcome)
        report = TickReport(
            tick_id=tick.tick_id,
            scheduled_time=format_utc(tick.scheduled_time),
            outcomes=[outcome for outcome in outcomes if outcome is not None],
            duplicates=tick.duplicates,
        )
        self._report(report, time.monotonic() - started)
        return report

    def _poll_all(
        self,
        tick: Tick,
        freshness: TickFreshness | None,
        remaining_seconds: Callable[[], float] | None,
        record: Callable[[int, JobOutcome], None],
    ) -> None:
        """`concurrency` threads, each taking the next entry in order until none is
        left: a job is started only while there is time for it. No future, queue or
        wait per job: at a Lambda's share of a core the scheduling was a fifth of the
        tick's CPU."""
        entries = tick.entries
        lock = threading.Lock()
        position = iter(range(len(entries)))
        failures: list[BaseException] = []

        def work() -> None:
            try:
                while True:
                    with lock:
                        index = next(position, None)
                        if index is None or failures:
                            return
                        entry = entries[index]
                        if isinstance(entry, InvalidJobEntry):
                            record(index, _invalid(entry))
                            continue
                        if not self._has_time(remaining_seconds):
                            record(index, _not_reached(entry))
                            continue
                    outcome = poll_job(
                        self.service,
                        entry,
                        tick.scheduled_time,
                        freshness,
                        gone_candidate=entry in tick.gone_candidates,
                        remaining_seconds=remaining_seconds,
                    )
                    with lock:
                        record(index, outcome)
            except BaseException as error:  # noqa: BLE001 - on_outcome raised: re-raised below
                with lock:
                    failures.append(error)

        threads = [
            threading.Thread(target=work, name=f"poll_{number}", daemon=True)
            for number in range(max(1, min(self.concurrency, len(entries))))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]

    def _has_time(self, remaining_seconds: Callable[[], float] | None) -> bool:
        return remaining_seconds is None or remaining_seconds() > self.job_allowance_seconds

    def _report(self, report: TickReport, elapsed: float) -> None:
        summary = report.summary()
        self.metrics.add("Polled", summary["ok"])
        self.metrics.add("PollFailures", summary["failed"])
        self.metrics.add("NotReached", summary["not_reached"])
        gone = sum(
            1
            for outcome in report.outcomes
            if outcome.result is JobResult.GONE and outcome.snapshot is SnapshotOutcome.CHANGED
        )
        self.metrics.add("JobsGone", gone)
        self.metrics.add("TickDuration", elapsed * 1000, "Milliseconds")
        for outcome in report.outcomes:
            if outcome.result is JobResult.GONE:
                logger.info("job gone", extra=outcome.as_json())
            elif outcome.result is not JobResult.OK:
                logger.warning("job not polled", extra=outcome.as_json())
        logger.info("tick finished", extra={**summary, "elapsed_ms": round(elapsed * 1000, 1)})


@dataclass
class Dispatcher:
    """The scale path: one message per job, for workers to poll in parallel."""

    queue: JobQueue
    metrics: Metrics
    # A batch is sent only when this much time is left: a send at its worst, and room
    # to answer (bootstrap). Thousands of jobs are hundreds of sends: without it a slow
    # queue would let Lambda's timeout end the tick, report and all.
    send_allowance_seconds: float

    def run(self, tick: Tick, remaining_seconds: Callable[[], float] | None = None) -> TickReport:
        """Send every job while `remaining_seconds` leaves time for a send; the jobs of
        the batches not sent are reported not reached."""
        report = TickReport(
            tick.tick_id, format_utc(tick.scheduled_time), duplicates=tick.duplicates
        )
        jobs = [entry for entry in tick.entries if isinstance(entry, JobRef)]
        report.outcomes.extend(
            _invalid(entry) for entry in tick.entries if isinstance(entry, InvalidJobEntry)
        )
        for batch in _batches(jobs, QUEUE_BATCH):
            if remaining_seconds is not None and remaining_seconds() <= self.send_allowance_seconds:
                report.outcomes.extend(_not_reached(job) for job in batch)
                continue
            messages = [job_message(job, tick) for job in batch]
            failed: dict[int, DlfStatusError]
            try:
                failed = dict(self.queue.send(messages))
            except DlfStatusError as refused:
                failed = dict.fromkeys(range(len(batch)), refused)
            for index, job in enumerate(batch):
                error = failed.get(index)
                if error is None:
                    report.outcomes.append(JobOutcome.of(job, JobResult.ENQUEUED))
                    continue
                report.outcomes.append(
                    JobOutcome.of(
                        job,
                        JobResult.FAILED,
                        error=type(error).__name__,
                        detail=error.detail,
                        retryable=error.retryable,
                    )
                )
        self.metrics.add("Enqueued", report.count(JobResult.ENQUEUED))
        self.metrics.add("EnqueueFailures", report.count(JobResult.FAILED))
        self.metrics.add("NotReached", report.count(JobResult.NOT_REACHED))
        logger.info("tick fanned out", extra=report.summary())
        return report


def job_message(job: JobRef, tick: Tick) -> dict[str, Any]:
    return {
        "project_id": job.project_id,
        "job_name": job.job_name,
        "workspace": job.workspace,
        "tick_id": tick.tick_id,
        "scheduled_time": format_utc(tick.scheduled_time),
    }


def _batches(items: list[JobRef], size: int) -> Iterable[list[JobRef]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class TickRunner:
    """Builds a tick from its event and runs it in place or fans it out."""

    poller: Poller
    # Times a tick whose event names no slot: the service's clock (bootstrap).
    clock: Clock
    read_job_list: Callable[[str], Any]
    jobs_uri: str | None
    fanout_threshold: int
    # None: every tick is polled in place.
    dispatcher: Dispatcher | None = None
    # Expands discovery entries (tick_discovery.py); made at the first tick that has one.
    discovery: Callable[[], TickDiscovery] | None = None

    def build_tick(self, tick_id: str | None, scheduled_time: str | None, jobs: Any | None) -> Tick:
        """An id that a redelivery repeats (else a fresh one), the slot (the event's,
        else the one `clock` is in), the jobs."""
        if jobs is None:
            if self.jobs_uri is None:
                raise ConfigurationError(
                    "the scheduled event carries no jobs and JOBS_URI is not set"
                )
            jobs = self.read_job_list(self.jobs_uri)
        parsed = parse_job_list(jobs)
        slot = slot_near(scheduled_time, self.clock.now())
        return Tick(
            tick_id or uuid.uuid4().hex,
            slot,
            parsed.entries,
            parsed.duplicates,
            parsed.discoveries,
        )

    def run(
        self,
        tick: Tick,
        remaining_seconds: Callable[[], float] | None = None,
        on_outcome: Callable[[JobOutcome], None] | None = None,
        on_expanded: Callable[[Tick], None] | None = None,
    ) -> TickReport:
        """Expand the tick's discovery entries, then poll its jobs in place or fan them
        out; `on_expanded` sees the tick once its jobs are known (the CLI's progress)."""
        expansion = None
        if tick.discoveries:
            if self.discovery is None:
                raise ConfigurationError("this tick runner cannot discover jobs")
            discovery = self.discovery()
            expansion = discovery.expand(tick, remaining_seconds)
            tick = expansion.tick
        if on_expanded is not None:
            on_expanded(tick)
        report = self._poll(tick, remaining_seconds, on_outcome)
        if expansion is not None:
            discovery.settle(expansion, report)
        return report

    def _poll(
        self,
        tick: Tick,
        remaining_seconds: Callable[[], float] | None,
        on_outcome: Callable[[JobOutcome], None] | None,
    ) -> TickReport:
        poller = self.poller
        suspects = tick.gone_candidates
        jobs = sum(
            1 for entry in tick.entries if isinstance(entry, JobRef) and entry not in suspects
        )
        if self.dispatcher is None or jobs <= self.fanout_threshold:
            return poller.run(tick, remaining_seconds, on_outcome)
        # Suspects are checked here, never fanned out: what the tick keeps for the next
        # one is settled by what happened to them (tick_discovery.py).
        report = self.dispatcher.run(
            tick._replace(
                entries=tuple(entry for entry in tick.entries if entry not in suspects),
                gone_candidates=frozenset(),
            ),
            remaining_seconds,
        )
        if suspects:
            checked = poller.run(
                tick._replace(
                    entries=tuple(entry for entry in tick.entries if entry in suspects),
                    duplicates=0,
                ),
                remaining_seconds,
                on_outcome,
            )
            report.outcomes.extend(checked.outcomes)
        return report


@dataclass
class QueueWorker:
    """One fanned-out job per queue message, polled as its tick would have polled it
    (same slot, so a redelivered message writes no second history object)."""

    service: StatusService
    # A message's job is started only when this much time is left (as `Poller`'s):
    # otherwise Lambda's timeout would end the batch, and SQS deliver it all again,
    # the records already done with it.
    job_allowance_seconds: float

    def poll_message(
        self, body: str, remaining_seconds: Callable[[], float] | None = None
    ) -> JobOutcome:
        """The job's outcome; a failure says whether a later try may mend it
        (`retryable`), and the queue's entry point has SQS deliver it again if so. A
        message left with too little time is not started: not reached (SQS delivers it
        again)."""
        try:
            message = jsoncodec.loads(body.encode("utf-8", "surrogatepass"))
            if not isinstance(message, dict):
                raise InvalidInput("a queued job must be a JSON object")
            scheduled_time = message.get("scheduled_time")
            slot = slot_near(
                scheduled_time if isinstance(scheduled_time, str) else None,
                self.service.clock.now(),
            )
            [entry], _ = job_entries([message])
        except (jsoncodec.JsonDecodeError, InvalidInput) as error:
            logger.warning("queued job refused", extra={"detail": str(error)[:200]})
            return _refused(str(error)[:200])
        if isinstance(entry, InvalidJobEntry):
            logger.warning("queued job refused", extra={"detail": entry.reason})
            return _refused(entry.reason)
        if remaining_seconds is not None and remaining_seconds() <= self.job_allowance_seconds:
            logger.warning("queued job not started: too little time left", extra=entry._asdict())
            return JobOutcome.of(
                entry, JobResult.NOT_REACHED, detail="the invocation ran out of time before it"
            )
        outcome = poll_job(self.service, entry, slot, remaining_seconds=remaining_seconds)
        if outcome.failed and not outcome.retryable:
            logger.warning("queued job failed for good", extra=outcome.as_json())
        return outcome
