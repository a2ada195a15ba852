"""Discovery over a fake job-list client (no sockets): one listing per tag, the
filters, and errors that fail the whole discovery with the page's own class."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from dlf_status import bootstrap
from dlf_status.discovery import JobDiscovery
from dlf_status.domain.listing import DiscoverySpec, JobPageQuery
from dlf_status.domain.model import Headers, JobRef, UpstreamResponse, ValidationMode
from dlf_status.domain.ports import UpstreamCall
from dlf_status.errors import ContractViolation, UpstreamAuthRejected
from tests.support.job_list_server import JSON, OffsetMeaning, SimulatedJobList
from tests.support.root import root_settings

PROJECT, WORKSPACE = "b384b9e9ab9b4ee8994c8633aabc9505", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@dataclass
class FakeJobListClient:
    """One simulated list per tag (key "" without tags); remembers every query."""

    lists: dict[str, SimulatedJobList]
    queries: list[JobPageQuery] = field(default_factory=list)
    answer: UpstreamResponse | None = None  # answer every page with this instead

    def fetch_job_page(self, query: JobPageQuery) -> UpstreamCall:
        self.queries.append(query)
        if self.answer is not None:
            return UpstreamCall(self.answer, 1, 0.0)
        server = self.lists[",".join(query.tags)]
        return UpstreamCall(server.response(query.offset, query.limit), 1, 0.0)


def discovery(
    client: FakeJobListClient, mode: ValidationMode = ValidationMode.LENIENT
) -> JobDiscovery:
    return bootstrap.build_job_discovery(root_settings(VALIDATION_MODE=str(mode)), client=client)


def test_every_real_time_job_of_the_workspace_is_discovered_sorted_once() -> None:
    names = [f"job-{index:03d}" for index in range(130, -1, -1)]
    server = SimulatedJobList(
        list(names), OffsetMeaning.PAGES_FROM_0, batch_names=frozenset({"job-007"})
    )
    client = FakeJobListClient({"": server})

    found = discovery(client).discover(DiscoverySpec(PROJECT, WORKSPACE))

    expected = sorted(set(names) - {"job-007"})
    assert [job.ref for job in found.jobs] == [
        JobRef(PROJECT, name, WORKSPACE) for name in expected
    ]
    assert [job.listed.status for job in found.jobs] == ["NORMAL"] * len(expected)
    assert (found.not_real_time, found.not_matching, found.missing_tags) == (1, 0, 0)
    assert found.complete
    assert found.requests == len(client.queries)
    assert {
        (query.project_id, query.workspace, query.job_type, query.limit, query.tags)
        for query in client.queries
    } == {(PROJECT, WORKSPACE, "REAL_TIME", 100, ())}


def test_tags_are_listed_one_at_a_time_and_a_job_needs_every_tag() -> None:
    client = FakeJobListClient(
        {
            "prod": SimulatedJobList(["a", "b", "c"]),
            "team-a": SimulatedJobList(["b", "c", "d"]),
        }
    )

    found = discovery(client).discover(DiscoverySpec.parse(PROJECT, None, ["team-a", "prod"]))

    assert [job.ref.job_name for job in found.jobs] == ["b", "c"]
    assert found.missing_tags == 2  # a and d carry one of the tags only
    assert len(found.listings) == 2
    assert {query.tags for query in client.queries} == {("prod",), ("team-a",)}


def test_the_name_pattern_keeps_whole_names_that_match() -> None:
    client = FakeJobListClient(
        {"": SimulatedJobList(["orders_eu", "orders_us", "Orders_x", "my_orders_1"])}
    )

    found = discovery(client).discover(DiscoverySpec(PROJECT, name_pattern="orders_*"))

    assert [job.ref.job_name for job in found.jobs] == ["orders_eu", "orders_us"]
    assert found.not_matching == 2


def test_a_listed_name_no_status_call_can_take_is_reported_not_polled() -> None:
    odd = ["fine", "line\nbreak", "x" * 129, " padded"]
    client = FakeJobListClient({"": SimulatedJobList(list(odd))})

    found = discovery(client).discover(DiscoverySpec(PROJECT))

    assert [job.ref.job_name for job in found.jobs] == ["fine"]
    assert sorted(found.unpollable) == sorted(odd[1:])


def test_an_error_fails_the_discovery_with_the_pages_own_class_and_says_where() -> None:
    denied = {
        "error_code": "APIGW.0301",
        "error_msg": "verify aksk signature fail",
        "request_id": "r",
    }
    client = FakeJobListClient(
        {}, answer=UpstreamResponse(401, Headers(JSON), json.dumps(denied).encode())
    )

    with pytest.raises(UpstreamAuthRejected) as raised:
        discovery(client).discover(DiscoverySpec.parse(PROJECT, WORKSPACE, ["prod"]))

    assert raised.value.detail.startswith(
        f"discovering the jobs of project {PROJECT}, workspace {WORKSPACE}, tag 'prod' failed: "
        "the job list failed at offset 0: DataArts Studio rejected"
    )
    assert raised.value.info.error_code == "APIGW.0301"
    assert len(client.queries) == 1  # a rejected signature is never tried again


def test_strict_mode_fails_a_discovery_on_a_page_that_breaks_the_contract() -> None:
    page = {"total": 1, "jobs": [{"name": "a", "jobType": "REAL_TIME"}]}
    client = FakeJobListClient(
        {}, answer=UpstreamResponse(200, Headers(JSON), json.dumps(page).encode())
    )

    with pytest.raises(
        ContractViolation, match=r"contract at \$\.jobs\[0\]: .createTime"
    ) as raised:
        discovery(client, ValidationMode.STRICT).discover(DiscoverySpec(PROJECT))

    assert len(raised.value.violations) == 3  # createTime, createUser, status
    lenient = discovery(client).discover(DiscoverySpec(PROJECT))
    assert [job.ref.job_name for job in lenient.jobs] == ["a"]
    assert lenient.listings[0].violation_count == 3
