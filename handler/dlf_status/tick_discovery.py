"""Discovery inside a scheduled tick: discovery entries become jobs to poll.

A tick's job list may hold discovery entries (`{"project_id", "workspace"?,
"discover": true, "tags"?, "name_pattern"?}`). Before anything is polled, each is
expanded (`expand`) into the real-time jobs the upstream's job list names
(`discovery.py`), beside the explicit entries, each job once. After the tick
(`settle`), each discovery's report is added and what it listed is kept for the next
tick (`domain/discovered.py`).

* **Gone.** A job that was in the last complete listing of a discovery and is in
  none of this tick's listings is a *suspect*: it is polled like any job, and if its
  status call says it does not exist (DLF.0100) it is marked gone
  (`StatusService.record_gone`) and reported `gone`, once. Only a listing read whole
  (`complete`) makes suspects. A suspect whose check does not conclude (a failure,
  no time left) is kept for the next tick; one that turns out to exist is polled and
  then forgotten (it left the discovery: a tag removed, say).
* **A failing discovery** is reported (its own row, with the error and whether a
  retry may mend it) and the jobs of its last complete listing are polled instead, so
  a flaky list API does not stop the polls; nothing is inferred about gone jobs. An
  incomplete listing (the list kept changing) polls what it saw plus that listing.
* **Time.** A discovery is a sequence of upstream calls: each page is started only
  while the tick has a whole call and the store's allowance left (the rule a job
  follows); past that the discovery fails as a timeout (retryable) and its last
  listing is polled with what time is left. Discoveries run concurrently, before the
  polls, so their time comes off what the jobs get.
* **Suspects are never fanned out**: the tick checks them itself, whatever its size,
  so that what it keeps for the next tick is settled by what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

from dlf_status.discovery import Discovery, JobDiscovery
from dlf_status.domain.discovered import (
    MAX_REMEMBERED,
    DiscoveredJobs,
    decode_discovered,
    discovered_key,
    encode_discovered,
    fits,
    merge_discovered,
    newer_schema,
)
from dlf_status.domain.listing import DiscoverySpec, JobPageQuery
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import Clock, JobPageClient, Metrics, ObjectStore, UpstreamCall
from dlf_status.domain.ticks import (
    DiscoveryEntry,
    DiscoveryOutcome,
    JobOutcome,
    JobResult,
    Tick,
    TickReport,
)
from dlf_status.domain.timestamps import format_utc
from dlf_status.errors import (
    DlfStatusError,
    InvalidInput,
    StoreError,
    UpstreamTimeout,
    is_retryable,
)
from dlf_status.observability import logger

# Findings one discovery outcome carries (each listing may have a few).
MAX_FINDINGS = 10
# Attempts at saving a discovery's listing when another tick keeps saving its own.
MAX_SAVE_ATTEMPTS = 3
# Outcomes after which a suspect is still unsettled: kept for the next tick.
_UNSETTLED = frozenset({JobResult.FAILED, JobResult.NOT_REACHED})


class _BudgetedPages:
    """The job list client of one discovery: every page is started only while the tick
    has time for it, and counted."""

    def __init__(self, client: JobPageClient, has_time: Callable[[], bool]) -> None:
        self._client, self._has_time = client, has_time
        self.requests = 0

    def fetch_job_page(self, query: JobPageQuery) -> UpstreamCall:
        if not self._has_time():
            raise UpstreamTimeout(
                f"the tick had too little time left for the job list's page at offset "
                f"{query.offset} (a whole upstream call and the store's allowance)"
            )
        self.requests += 1
        return self._client.fetch_job_page(query)


class _NotKept(Exception):
    """A discovery's listing could not be stored; the message says why."""


class SpecRun(NamedTuple):
    """One discovery entry run: what it found or why not, and its last listing."""

    entry: DiscoveryEntry
    discovery: Discovery | None
    error: BaseException | None
    previous: DiscoveredJobs | None
    previous_version: str | None  # the stored listing's version, for the next save
    requests: int
    notes: tuple[str, ...] = ()  # e.g. the last listing could not be read
    left_alone: bool = False  # a newer release wrote the last listing: never written over
    withheld: frozenset[str] = frozenset()  # listed, not polled: they could not be kept

    @property
    def spec(self) -> DiscoverySpec:
        return self.entry.spec

    @property
    def listed(self) -> frozenset[str]:
        if self.discovery is None:
            return frozenset()
        return frozenset(job.ref.job_name for job in self.discovery.jobs)

    @property
    def missing(self) -> frozenset[str]:
        """Names of the last complete listing that this complete listing lacks."""
        if self.discovery is None or not self.discovery.complete or self.previous is None:
            return frozenset()
        return self.previous.jobs - self.listed


@dataclass
class Expansion:
    """A tick with its discovery entries expanded, and what each one did."""

    tick: Tick
    runs: list[SpecRun]
    listed_at: str
    added: dict[DiscoverySpec, int] = field(default_factory=dict)
    suspects: dict[DiscoverySpec, frozenset[JobRef]] = field(default_factory=dict)


def _ref(spec: DiscoverySpec, name: str) -> JobRef | None:
    try:
        return JobRef.parse(spec.project_id, name, spec.workspace)
    except InvalidInput:
        return None  # a name only an older release could have stored


@dataclass
class TickDiscovery:
    """Expands a tick's discovery entries and keeps what each one listed."""

    client: JobPageClient
    make_discovery: Callable[[JobPageClient], JobDiscovery]
    store: ObjectStore
    clock: Clock
    metrics: Metrics
    concurrency: int = 4
    # A page is started only while this much time is left (a job's allowance).
    allowance_seconds: float = 22.0

    # -- before the polls ----------------------------------------------------------

    def expand(self, tick: Tick, remaining_seconds: Callable[[], float] | None = None) -> Expansion:
        """`tick` with every job its discovery entries select (explicit entries first,
        then each discovery's jobs by name, each job once) and the suspects among them."""

        def has_time() -> bool:
            return remaining_seconds is None or remaining_seconds() > self.allowance_seconds

        listed_at = format_utc(self.clock.now())
        entries = tick.discoveries
        workers = max(1, min(self.concurrency, len(entries)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="discover") as pool:
            runs = list(pool.map(lambda entry: self._run(entry, has_time), entries))
        runs = [self._write_ahead(run, listed_at) for run in runs]
        expansion = Expansion(tick, runs, listed_at)
        seen = {entry for entry in tick.entries if isinstance(entry, JobRef)}
        # A job any listing of this tick names exists: it is nobody's suspect.
        listed_here = {
            (run.spec.project_id, run.spec.workspace, name) for run in runs for name in run.listed
        }
        added: list[JobRef] = []
        for run in runs:
            count = 0
            suspects = set()
            for name in sorted(run.missing):
                if (run.spec.project_id, run.spec.workspace, name) in listed_here:
                    continue
                ref = _ref(run.spec, name)
                if ref is not None:
                    suspects.add(ref)
            for ref in [*self._to_poll(run), *sorted(suspects, key=lambda ref: ref.job_name)]:
                if ref not in seen:
                    seen.add(ref)
                    added.append(ref)
                    count += 1
            expansion.added[run.spec] = count
            expansion.suspects[run.spec] = frozenset(suspects)
        candidates = frozenset().union(*expansion.suspects.values())
        expansion.tick = tick._replace(entries=(*tick.entries, *added), gone_candidates=candidates)
        return expansion

    def _to_poll(self, run: SpecRun) -> list[JobRef]:
        """The jobs a discovery puts in the tick: what it found, or, when it failed or
        its listing was not read whole, its last complete listing too."""
        refs = [] if run.discovery is None else [job.ref for job in run.discovery.jobs]
        refs = [ref for ref in refs if ref.job_name not in run.withheld]
        if run.previous is not None and (run.discovery is None or not run.discovery.complete):
            known = {ref.job_name for ref in refs}
            refs.extend(
                ref
                for ref in (_ref(run.spec, name) for name in sorted(run.previous.jobs - known))
                if ref is not None
            )
        return refs

    def _run(self, entry: DiscoveryEntry, has_time: Callable[[], bool]) -> SpecRun:
        spec = entry.spec
        notes: list[str] = []
        previous, version, left_alone = None, None, False
        try:
            stored = self.store.get(discovered_key(spec))
        except StoreError as error:
            stored = None
            notes.append(f"the last listing could not be read: {error.detail}")
        newer = None if stored is None else newer_schema(stored.body)
        if stored is not None and newer is not None:
            left_alone = True
            notes.append(
                f"the last listing was written by a newer release (schema {newer}): "
                "left as it is, and no job is checked for gone"
            )
        elif stored is not None:
            version = stored.version
            previous = decode_discovered(spec, stored.body)
            if previous is None:
                notes.append("the last listing is unreadable: it is written anew")
        pages = _BudgetedPages(self.client, has_time)
        failure: BaseException
        try:
            discovery = self.make_discovery(pages).discover(spec)
        except DlfStatusError as error:
            failure = error
        except Exception as error:  # noqa: BLE001 - one discovery's bug is its row, not the tick's
            logger.exception("unexpected error discovering jobs")
            failure = error
        else:
            return SpecRun(
                entry,
                discovery,
                None,
                previous,
                version,
                pages.requests,
                tuple(notes),
                left_alone,
            )
        return SpecRun(
            entry, None, failure, previous, version, pages.requests, tuple(notes), left_alone
        )

    # -- after the polls -------------------------------------------------------------

    def settle(self, expansion: Expansion, report: TickReport) -> None:
        """Add each discovery's outcome (and a failed row for a failed one) to
        `report`, keep each complete listing for the next tick, count the metrics."""
        results = {
            (outcome.project_id, outcome.workspace, outcome.job_name): outcome.result
            for outcome in report.outcomes
            if outcome.job_name is not None
        }
        rows: list[JobOutcome] = []
        withheld: list[JobOutcome] = []
        for run in expansion.runs:
            suspects = expansion.suspects.get(run.spec, frozenset())
            unsettled = {
                ref.job_name
                for ref in suspects
                if results.get((ref.project_id, ref.workspace, ref.job_name), JobResult.FAILED)
                in _UNSETTLED
            }
            notes = list(run.notes)
            if run.discovery is not None and not run.left_alone:
                kept = run.listed | unsettled
                if not run.discovery.complete and run.previous is not None:
                    kept |= run.previous.jobs  # nothing proven about what it lacks
                notes.extend(self._save(run, kept, expansion.listed_at))
            # A listed job withheld from the polls ends as any unpolled job does: not
            # reached, so that the tick does not say every job succeeded.
            withheld.extend(
                JobOutcome.of(
                    ref,
                    JobResult.NOT_REACHED,
                    detail="listed, not polled: the listing could not be kept before the polls",
                )
                for ref in (_ref(run.spec, name) for name in sorted(run.withheld))
                if ref is not None
            )
            outcome = self._outcome(run, expansion, len(suspects), notes)
            report.discoveries.append(outcome)
            if not outcome.ok:
                rows.append(
                    JobOutcome(
                        run.spec.project_id,
                        None,
                        run.spec.workspace,
                        JobResult.FAILED,
                        error=outcome.error,
                        detail=f"discovery of {outcome.describe()}: {outcome.detail}",
                        retryable=outcome.retryable,
                    )
                )
        report.outcomes[:0] = rows
        if withheld:
            report.outcomes.extend(withheld)
            self.metrics.add("NotReached", len(withheld))
        self._count(report.discoveries, report)

    def _save(self, run: SpecRun, jobs: frozenset[str], listed_at: str) -> Iterable[str]:
        """Keep `jobs` as the spec's last listing (`_store_listing`). Written at every
        tick, changed or not: a tick that listed a job again must show that its
        listing is the later one, or an overlapping tick that saw the job leave
        earlier would drop it for good (one small PUT a tick). Returns a finding
        when it could not."""
        base = frozenset() if run.previous is None else run.previous.jobs
        try:
            self._store_listing(
                run.spec, base, DiscoveredJobs(listed_at, jobs), run.previous_version
            )
        except _NotKept as failure:
            return (f"the listing could not be kept for the next tick: {failure}",)
        return ()

    def _store_listing(
        self,
        spec: DiscoverySpec,
        base: frozenset[str],
        ours: DiscoveredJobs,
        expected: str | None,
    ) -> tuple[frozenset[str], str]:
        """Write `ours` (made from `base`, read at version `expected`) by compare-and-
        swap; when another tick saved since, the two are merged (`merge_discovered`),
        never one dropped. Returns the names stored and their version, or raises
        `_NotKept`."""
        key = discovered_key(spec)
        try:
            for _ in range(MAX_SAVE_ATTEMPTS):
                if not fits(ours.jobs):
                    raise _NotKept(f"more than {MAX_REMEMBERED:,} names to keep")
                body = encode_discovered(spec, ours.listed_at, ours.jobs)
                version = self.store.replace(key, body, {}, expected)
                if version is not None:
                    return ours.jobs, version
                stored = self.store.get(key)
                if stored is not None and newer_schema(stored.body) is not None:
                    raise _NotKept("a newer release wrote the last listing meanwhile")
                theirs = None if stored is None else decode_discovered(spec, stored.body)
                expected = None if stored is None else stored.version
                if stored is not None and theirs is not None:
                    ours = merge_discovered(base, ours, theirs)
                    if ours.jobs == theirs.jobs and ours.listed_at <= theirs.listed_at:
                        return theirs.jobs, stored.version  # it already says it all
                    base = theirs.jobs
        except StoreError as error:
            logger.error(
                "discovered jobs not kept",
                extra={"project_id": spec.project_id, "detail": error.detail},
            )
            raise _NotKept(error.detail) from None
        raise _NotKept("other ticks kept writing")

    def _write_ahead(self, run: SpecRun, listed_at: str) -> SpecRun:
        """Keep the jobs a listing adds to the last one before any is polled. A job
        polled and then not remembered (the save after the polls failed) would never
        be a suspect: once deleted, its latest.json would keep its last live status.
        So a job the last listing could not be made to hold is not polled this tick."""
        if run.discovery is None or run.left_alone:
            return run
        known = frozenset() if run.previous is None else run.previous.jobs
        new = run.listed - known
        if not new:
            return run
        ahead = DiscoveredJobs(listed_at, known | run.listed)
        try:
            jobs, version = self._store_listing(run.spec, known, ahead, run.previous_version)
        except _NotKept as failure:
            note = (
                f"{len(new)} newly listed job(s) not polled: the listing could not be kept "
                f"before the polls ({failure})"
            )
            return run._replace(withheld=new, notes=(*run.notes, note))
        return run._replace(previous=DiscoveredJobs(listed_at, jobs), previous_version=version)

    def _outcome(
        self, run: SpecRun, expansion: Expansion, suspects: int, notes: Sequence[str]
    ) -> DiscoveryOutcome:
        spec, discovery = run.spec, run.discovery
        base = DiscoveryOutcome(
            spec.project_id,
            spec.workspace,
            spec.tags,
            spec.name_pattern,
            ok=discovery is not None,
            added=expansion.added.get(spec, 0),
            gone_candidates=suspects,
            requests=run.requests,
        )
        if discovery is None:
            error = run.error
            detail = getattr(error, "detail", None) or "unexpected error; see logs"
            fallback = 0 if run.previous is None else len(run.previous.jobs)
            if fallback:
                notes = [*notes, f"polled the {fallback} job(s) of the last complete listing"]
            return base._replace(
                jobs=fallback,
                error=type(error).__name__,
                detail=detail,
                retryable=is_retryable(error) if error is not None else None,
                findings=tuple(notes)[:MAX_FINDINGS],
            )
        findings = [*notes, *discovery.findings]
        if discovery.unpollable:
            findings.append(
                f"{len(discovery.unpollable)} listed name(s) no status call can take: not polled"
            )
        return base._replace(
            jobs=len(discovery.jobs),
            complete=discovery.complete,
            unpollable=len(discovery.unpollable),
            findings=tuple(findings)[:MAX_FINDINGS],
        )

    def _count(self, outcomes: Sequence[DiscoveryOutcome], report: TickReport) -> None:
        self.metrics.add("DiscoveredJobs", sum(found.jobs for found in outcomes if found.ok))
        self.metrics.add("ListingRequests", sum(found.requests for found in outcomes))
        self.metrics.add("DiscoveryFailures", sum(1 for found in outcomes if not found.ok))
        for found in outcomes:
            if not found.ok:
                logger.warning("discovery failed", extra=found.as_json())
