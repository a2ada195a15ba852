"""Discovery across ticks, over generated histories of a workspace (hypothesis): jobs
created, deleted and created again between ticks, under every paging the job list
may use. Whatever happens, each tick polls every listed job once, a job that left is
reported gone exactly in the tick after it left (once), and each job's transition
records form one chain that matches what its latest.json held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status import bootstrap
from dlf_status.domain.gone import is_gone_document
from dlf_status.domain.model import JobRef
from dlf_status.domain.ticks import JobResult
from tests.support.clock import FixedClock
from tests.support.fakes import FakeDataArts, MemoryStore
from tests.support.job_list_server import OffsetMeaning, SimulatedJobList, TotalMeaning
from tests.support.root import fake_service, root_settings
from tests.support.transitions import assert_chain

PROJECT = "p1"
SLOT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NAMES = [f"job-{index}" for index in range(6)]
DISCOVER = {"project_id": PROJECT, "discover": True}

STEPS = st.lists(st.sets(st.sampled_from(NAMES)), min_size=1, max_size=6)


@settings(max_examples=100, deadline=None)
@given(
    STEPS,
    st.sampled_from(list(OffsetMeaning)[:4]),
    st.sampled_from([1000, 2, 1]),
    st.sampled_from(list(TotalMeaning)),
)
def test_ticks_over_a_changing_workspace_report_each_departure_once(
    steps: list[set[str]], meaning: OffsetMeaning, max_limit: int, total: TotalMeaning
) -> None:
    upstream = FakeDataArts(SimulatedJobList([], meaning, max_limit=max_limit, total_meaning=total))
    store = MemoryStore()
    listed_before: set[str] = set()
    gone_reported: dict[str, int] = {}
    for number, present in enumerate(steps, start=1):
        upstream.listing.names[:] = sorted(present)
        upstream.listing.requests.clear()
        service = fake_service(
            upstream, store, clock=FixedClock(SLOT + timedelta(minutes=5 * number))
        )
        runner = bootstrap.build_tick_runner(
            root_settings(), service=service, read_job_list=lambda _: [], fan_out=False
        )
        report = runner.run(runner.build_tick(f"t{number}", None, [DISCOVER]))

        by_result: dict[JobResult, set[str]] = {}
        for outcome in report.outcomes:
            assert outcome.job_name is not None
            by_result.setdefault(outcome.result, set()).add(outcome.job_name)
        names = [outcome.job_name for outcome in report.outcomes]
        assert len(names) == len(set(names)), "a job polled twice in one tick"
        assert by_result.get(JobResult.OK, set()) == present
        assert by_result.get(JobResult.GONE, set()) == listed_before - present
        assert JobResult.FAILED not in by_result
        for name in listed_before - present:
            gone_reported[name] = gone_reported.get(name, 0) + 1
        listed_before = set(present)

    for name in NAMES:
        job = JobRef.parse(PROJECT, name)
        versions = store.latest_versions(job)
        if not versions:
            continue
        latest: dict[str, Any] = store.latest(job)
        assert is_gone_document(latest) == (name not in steps[-1])
        records = [r for r in store.transitions() if r["source"]["job_name"] == name]
        assert_chain(records, versions)
        to_null = [r for r in records if r["changes"][0]["to"] is None]
        assert len(to_null) == gone_reported.get(name, 0)
