"""Paging the job list against simulated services of every semantics the sources
allow: what `offset` counts x what `limit` the service honours (clamped or refused
beyond it) x what `total` counts (or a lie) x jobs created and deleted between two
requests. Whatever the service, no job is listed twice, the requests are bounded,
and a listing called complete holds every job that stayed in the list throughout."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.domain.contract import LIST_JOBS, packaged_contract
from dlf_status.domain.listing import (
    FALLBACK_LIMIT,
    MAX_WALKS,
    PAGE_LIMIT,
    Listing,
    interpret_page,
    read_job_list,
)
from dlf_status.domain.model import ValidationMode
from dlf_status.errors import IncompleteJobList, UpstreamRejected
from tests.support.job_list_server import Mutation, OffsetMeaning, SimulatedJobList, TotalMeaning

VALIDATOR = CompiledValidator(packaged_contract(LIST_JOBS))
MAX_REQUESTS = 40

PAGED = st.sampled_from(
    [
        OffsetMeaning.RECORDS,
        OffsetMeaning.PAGES_FROM_0,
        OffsetMeaning.PAGES_FROM_1,
        OffsetMeaning.PAGES_FROM_1_STRICT,
    ]
)
MAX_LIMITS = st.sampled_from([1000, 100, 99, 50, 10, 7, 3, 1])
TOTALS = st.sampled_from(list(TotalMeaning))
MUTATIONS = st.lists(
    st.builds(
        Mutation,
        at=st.integers(min_value=0, max_value=14),
        create=st.booleans(),
        position=st.integers(min_value=0, max_value=400),
    ),
    max_size=5,
)


def listing_of(server: SimulatedJobList) -> Listing:
    def fetch(offset: int, limit: int) -> object:
        return interpret_page(
            server.response(offset, limit),
            validator=VALIDATOR,
            mode=ValidationMode.LENIENT,
        )

    return read_job_list(fetch, max_requests=MAX_REQUESTS)  # type: ignore[arg-type]


def honoured_size(server: SimulatedJobList) -> int:
    if server.refuse_over_limit and server.max_limit < PAGE_LIMIT:
        return min(FALLBACK_LIMIT, server.max_limit)
    return min(PAGE_LIMIT, server.max_limit)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(min_value=0, max_value=320),
    meaning=PAGED,
    max_limit=MAX_LIMITS,
    refuse=st.booleans(),
    total=TOTALS,
    lie=st.integers(min_value=-3, max_value=10**6),
)
def test_an_unchanging_list_is_read_whole_each_job_once(
    count: int, meaning: OffsetMeaning, max_limit: int, refuse: bool, total: TotalMeaning, lie: int
) -> None:
    names = [f"job-{index}" for index in range(count)]
    server = SimulatedJobList(list(names), meaning, max_limit, refuse, total_meaning=total, lie=lie)

    try:
        listing = listing_of(server)
    except UpstreamRejected:
        # Only a service that refuses the documented default too.
        assert refuse
        assert max_limit < FALLBACK_LIMIT
        return
    except IncompleteJobList:
        # Only when one walk needs more pages than the bound allows.
        assert math.ceil(count / honoured_size(server)) >= MAX_REQUESTS - 3
        return

    assert [job.name for job in listing.jobs] == names
    assert listing.complete
    assert listing.walks == 2
    assert listing.requests == len(server.requests) <= 1 + 2 * MAX_REQUESTS


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(min_value=0, max_value=60),
    meaning=PAGED,
    max_limit=st.sampled_from([100, 10, 7, 3]),
    total=TOTALS,
    mutations=MUTATIONS,
)
def test_a_changing_list_never_loops_repeats_or_claims_a_job_it_skipped(
    count: int,
    meaning: OffsetMeaning,
    max_limit: int,
    total: TotalMeaning,
    mutations: list[Mutation],
) -> None:
    names = [f"job-{index}" for index in range(count)]
    server = SimulatedJobList(
        list(names), meaning, max_limit, total_meaning=total, mutations=tuple(mutations)
    )

    try:
        listing = listing_of(server)
    except IncompleteJobList:
        # Only the request bound, or jobs created or deleted while it read, can stop a
        # listing this small: a list that grew between offsets 0, 1 and 2 can answer the
        # same job three times, which reads as a service that does not page.
        assert len(server.requests) >= MAX_REQUESTS or server.created or server.deleted
        return

    listed = [job.name for job in listing.jobs]
    assert len(listed) == len(set(listed))
    assert set(listed) <= server.ever
    assert len(server.requests) <= MAX_WALKS * MAX_REQUESTS
    if listing.complete:
        assert server.stable <= set(listed)
    else:
        assert listing.findings
    happened = [mutation for mutation in mutations if mutation.at < len(server.requests)]
    if not happened:
        assert listing.complete
        assert listed == names
