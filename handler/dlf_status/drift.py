"""The use case of `dlf-status drift`: every status document of the store, streamed
into the pure report of `domain/drift.py`.

Reads job by job: each `latest.json` of `latest/` (the newest observation: a job whose
content did not change only refreshes it, and its history may have expired) and the
job's `history/` partitions (every content it had), through the `ObjectStore` port;
a latest.json that is the newest history document again (the same observation) is
not counted twice.
Jobs are read by READ_WORKERS threads, each job's documents one after the other by
one worker, which reduces every document to its findings and the job to its
`JobDrift` before the report takes it. What is held at any time: one listing page of
`latest/`, a listing page of history per job being read, the documents being parsed
(at most one per worker, each at most MAX_DOCUMENT_BYTES, parsed within
`jsoncodec.STORED`), and the small tallies of the jobs read ahead. A large store
costs time, never memory.

A job is read when it has a latest.json: every job the writer stored an observation
of (it writes history, then latest.json). A history without a latest.json (a write
that failed halfway, before the next tick repaired it) is not read.

An object the store lists but fails to return (denied by a policy, archived by a
lifecycle rule, a read error) is counted (`skipped.not_returned`) and the report goes
on: one such object never hides the drift of the others; the command then exits 5.

With `since`, a job's history is listed from that day (a day earlier: a slot is
named after its UTC day, an observation may come just after), and documents
observed before it are not counted.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from dlf_status.domain import jsoncodec
from dlf_status.domain.drift import (
    MAX_FINDINGS,
    DriftReport,
    DriftTally,
    JobDrift,
    JobName,
    job_of_key,
    observe,
)
from dlf_status.domain.ports import ListedObject, ObjectStore
from dlf_status.domain.snapshots import HISTORY_ROOT, LATEST_NAME, LATEST_ROOT
from dlf_status.errors import StoreError

# A stored document is about the size of the upstream body it came from (at most
# DLF_MAX_RESPONSE_BYTES, 8 MiB by default): twice that is read, larger is counted
# as too large, never loaded.
MAX_DOCUMENT_BYTES: Final = 16 << 20
READ_WORKERS: Final = 8
# Jobs submitted ahead of the one being added to the report: their tallies are small.
READ_AHEAD: Final = 4 * READ_WORKERS
_SLOT_MARGIN: Final = timedelta(days=1)
_LATEST_KEY = re.compile(
    rf"{LATEST_ROOT}/(project_id=[^/]+/workspace=[^/]+/job_name=[^/]+/){re.escape(LATEST_NAME)}"
)
_HISTORY_NAME = re.compile(r"date=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+\.json")


@dataclass
class DriftReader:
    store: ObjectStore
    workers: int = READ_WORKERS
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    max_findings: int = MAX_FINDINGS
    # Why the first object the store failed to return was not returned (None: every
    # listed object was returned, or gone): the report counts them, the command says it.
    first_read_error: str | None = None

    def report(self, since: date | None = None) -> DriftReport:
        tally = DriftTally(since=since, max_findings=self.max_findings)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="drift") as pool:
            pending: deque[Future[JobDrift]] = deque()
            for job_key, latest in self._latest():
                pending.append(pool.submit(self._job, tally.job(), job_key, latest))
                if len(pending) >= READ_AHEAD:
                    tally.add_job(pending.popleft().result())
            while pending:
                tally.add_job(pending.popleft().result())
        return tally.report()

    def _listed(self, prefix: str, start_after: str = "") -> Iterator[ListedObject]:
        while True:
            page = self.store.list_objects(prefix, start_after=start_after)
            yield from page.objects
            if page.resume_after is None:
                return
            start_after = page.resume_after

    def _latest(self) -> Iterator[tuple[str, ListedObject]]:
        for listed in self._listed(f"{LATEST_ROOT}/"):
            match = _LATEST_KEY.fullmatch(listed.key)
            if match is not None:
                yield match[1], listed

    def _job(self, drift: JobDrift, job_key: str, latest: ListedObject) -> JobDrift:
        job = job_of_key(job_key)
        if job is None:  # never: the listing matched the same pattern
            drift.skips.unreadable += 1
            return drift
        prefix = f"{HISTORY_ROOT}/{job_key}"
        start_after = ""
        if drift.since is not None:
            start_after = f"{prefix}date={(drift.since - _SLOT_MARGIN).isoformat()}"
        for listed in self._listed(prefix, start_after):
            if _HISTORY_NAME.fullmatch(listed.key[len(prefix) :]):
                self._read(drift, job, listed)
        self._read(drift, job, latest, latest=True)
        return drift

    def _read(
        self, drift: JobDrift, job: JobName, listed: ListedObject, *, latest: bool = False
    ) -> None:
        if listed.size > self.max_document_bytes:
            drift.skips.too_large += 1
            return
        try:
            found = self.store.get(listed.key)
        except StoreError as error:  # one object denied or archived: the others still read
            drift.skips.not_returned += 1
            if self.first_read_error is None:
                self.first_read_error = error.detail
            return
        if found is None:  # deleted since it was listed (a lifecycle rule)
            return
        if len(found.body) > self.max_document_bytes:  # replaced since it was listed
            drift.skips.too_large += 1
            return
        try:
            document = jsoncodec.loads(found.body, jsoncodec.STORED)
        except jsoncodec.JsonDecodeError:
            drift.skips.unreadable += 1
            return
        drift.add(observe(job, document), latest=latest)
