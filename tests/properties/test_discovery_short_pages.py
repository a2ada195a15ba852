"""A page shorter than the service's page size in the middle of the job list.

A service may page its rows first and leave some out of the answer afterwards (a job
the caller may not see, one being deleted), or shrink its page size while it is read:
either way a page in the middle of the list answers fewer jobs than the first, and the
jobs after it are still there. Such a walk is no evidence that the list ended; a
listing called complete must hold every job the service shows."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.domain.contract import LIST_JOBS, packaged_contract
from dlf_status.domain.listing import PAGE_LIMIT, JobPage, interpret_page, read_job_list
from dlf_status.domain.model import Headers, UpstreamResponse, ValidationMode
from dlf_status.errors import IncompleteJobList
from tests.support.job_list_server import JSON

VALIDATOR = CompiledValidator(packaged_contract(LIST_JOBS))


class HidingService:
    """Pages `rows` by `offset` (records, or pages from 0), then leaves the `hidden`
    rows out of each answer; `shrink_after` pages from then on are `smaller` rows."""

    def __init__(
        self,
        rows: list[str],
        hidden: frozenset[int],
        *,
        records: bool,
        page_size: int,
        shrink_after: int | None = None,
        smaller: int = 1,
    ) -> None:
        self.rows, self.hidden, self.records = rows, hidden, records
        self.page_size, self.shrink_after, self.smaller = page_size, shrink_after, smaller

    def visible(self) -> set[str]:
        return {row for index, row in enumerate(self.rows) if index not in self.hidden}

    def _size(self, offset: int) -> int:
        if self.shrink_after is not None and offset >= self.shrink_after:
            return self.smaller
        return self.page_size

    def fetch(self, offset: int, limit: int) -> JobPage:
        size = min(limit, self._size(offset))
        # Records, or pages from 0 (each page the size in force up to it).
        start = offset if self.records else sum(self._size(page) for page in range(offset))
        chosen = [
            {"name": self.rows[index], "jobType": "REAL_TIME", "status": "NORMAL"}
            for index in range(start, min(start + size, len(self.rows)))
            if index not in self.hidden
        ]
        body = json.dumps({"total": len(self.rows), "jobs": chosen}).encode()
        response = UpstreamResponse(200, Headers(JSON), body)
        return interpret_page(response, validator=VALIDATOR, mode=ValidationMode.LENIENT)


def _complete_listing_holds_every_visible_job(service: HidingService) -> None:
    try:
        listing = read_job_list(service.fetch, max_requests=60)
    except IncompleteJobList:
        return
    if listing.complete:
        assert {job.name for job in listing.jobs} == service.visible()


def test_a_job_left_out_of_a_middle_page_does_not_end_the_list() -> None:
    rows = [f"job-{index:03d}" for index in range(250)]
    service = HidingService(rows, frozenset({120}), records=False, page_size=PAGE_LIMIT)

    listing = read_job_list(service.fetch)

    assert {job.name for job in listing.jobs} == service.visible()
    assert "job-249" in {job.name for job in listing.jobs}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(min_value=0, max_value=90),
    page_size=st.sampled_from([3, 5, 10]),
    records=st.booleans(),
    data=st.data(),
)
def test_a_short_page_in_the_middle_never_ends_a_complete_listing(
    count: int, page_size: int, records: bool, data: st.DataObject
) -> None:
    rows = [f"job-{index:03d}" for index in range(count)]
    # No two hidden rows in a row and no page under two rows: no page in the middle
    # answers nothing (an empty answer is the end of any list, to any reader).
    hidden = data.draw(
        st.frozensets(st.integers(min_value=0, max_value=max(0, count - 1)), max_size=4).map(
            lambda rows: frozenset(row for row in rows if row - 1 not in rows)
        )
        if count
        else st.just(frozenset())
    )
    shrink_after = data.draw(st.none() | st.integers(min_value=1, max_value=12))
    smaller = data.draw(st.integers(min_value=2, max_value=page_size))
    service = HidingService(
        rows,
        hidden,
        records=records,
        page_size=page_size,
        shrink_after=shrink_after,
        smaller=smaller,
    )

    _complete_listing_holds_every_visible_job(service)


class ClampingService:
    """Pages `rows` by `offset` (records, or pages from 0), and answers an offset past
    the end with the last page again, as a service that clamps its offset does."""

    def __init__(self, rows: list[str], *, records: bool, page_size: int) -> None:
        self.rows, self.records, self.page_size = rows, records, page_size

    def fetch(self, offset: int, limit: int) -> JobPage:
        size = min(limit, self.page_size)
        start = offset if self.records else offset * size
        if self.rows and start >= len(self.rows):
            start = (len(self.rows) - 1) // size * size  # the last page, again
        chosen = [
            {"name": name, "jobType": "REAL_TIME", "status": "NORMAL"}
            for name in self.rows[start : start + size]
        ]
        body = json.dumps({"total": len(self.rows), "jobs": chosen}).encode()
        response = UpstreamResponse(200, Headers(JSON), body)
        return interpret_page(response, validator=VALIDATOR, mode=ValidationMode.LENIENT)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(min_value=1, max_value=60),
    page_size=st.sampled_from([2, 3, 5, 10]),
    records=st.booleans(),
)
def test_a_service_that_answers_past_the_end_with_the_last_page_is_read_whole(
    count: int, page_size: int, records: bool
) -> None:
    """A short last page, then the same jobs again: the list ended there. Such a
    service gives no empty page, and a listing that never completes makes no suspect
    of gone, ever."""
    rows = [f"job-{index:03d}" for index in range(count)]
    if count % page_size == 0:
        rows.append("job-last")  # the last page is short: the case this is about

    listing = read_job_list(ClampingService(rows, records=records, page_size=page_size).fetch)

    assert listing.complete
    assert {job.name for job in listing.jobs} == set(rows)
