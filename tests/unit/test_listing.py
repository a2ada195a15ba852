"""The job list, page by page and whole, against simulated services (no sockets)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.domain.contract import LIST_JOBS, packaged_contract
from dlf_status.domain.listing import (
    FALLBACK_LIMIT,
    DiscoverySpec,
    JobPage,
    Listing,
    PagingMode,
    interpret_page,
    read_job_list,
)
from dlf_status.domain.model import Headers, UpstreamResponse, ValidationMode
from dlf_status.domain.redaction import Redactor
from dlf_status.errors import (
    ContractViolation,
    IncompleteJobList,
    UpstreamAuthRejected,
    UpstreamBadResponse,
    UpstreamRejected,
    UpstreamUnavailable,
)
from tests.support.job_list_server import (
    JSON,
    Mutation,
    OffsetMeaning,
    SimulatedJobList,
    TotalMeaning,
)

VALIDATOR = CompiledValidator(packaged_contract(LIST_JOBS))
NAMES = [f"job-{index:03d}" for index in range(250)]


def page_of(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> UpstreamResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return UpstreamResponse(status, Headers(JSON if headers is None else headers), raw)


def read(response: UpstreamResponse, mode: ValidationMode = ValidationMode.LENIENT) -> JobPage:
    return interpret_page(response, validator=VALIDATOR, mode=mode)


def listing_of(server: SimulatedJobList, **bounds: int) -> Listing:
    return read_job_list(lambda offset, limit: read(server.response(offset, limit)), **bounds)


def names(listing: Listing) -> list[str]:
    return [job.name for job in listing.jobs]


JOB = {"name": "a", "jobType": "REAL_TIME", "status": "NORMAL", "createUser": "u", "createTime": 1}


# -- one page ----------------------------------------------------------------------


def test_a_page_gives_its_jobs_their_status_and_type_and_keeps_each_item() -> None:
    batch = {**JOB, "name": "b", "jobType": "BATCH", "status": "SCHEDULING"}

    page = read(page_of({"total": 2, "jobs": [JOB, batch]}))

    assert [(job.name, job.status, job.job_type) for job in page.jobs] == [
        ("a", "NORMAL", "REAL_TIME"),
        ("b", "SCHEDULING", "BATCH"),
    ]
    assert page.jobs[1].raw == batch
    assert (page.total, page.size, page.report.valid) == (2, 2, True)
    assert [job.is_real_time for job in page.jobs] == [True, False]


def test_lenient_mode_keeps_the_jobs_it_can_name_and_counts_the_others() -> None:
    nameless = {key: value for key, value in JOB.items() if key != "name"}

    page = read(page_of({"total": 3, "jobs": [JOB, nameless, "not a job"]}))

    assert [job.name for job in page.jobs] == ["a"]
    assert page.size == 3
    assert {violation.path for violation in page.report.violations} == {
        "$.jobs[1]",
        "$.jobs[2]",
    }


def test_strict_mode_refuses_a_page_that_breaks_the_contract() -> None:
    with pytest.raises(
        ContractViolation, match=r"job list page breaks the contract at \$.jobs\[0\]"
    ):
        read(page_of({"total": 1, "jobs": [{"name": "a"}]}), ValidationMode.STRICT)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"total": 0}, "has no jobs"),
        ({"total": 1, "jobs": {"name": "a"}}, "jobs as an object, not a list"),
        ({"total": 1, "jobs": "a"}, "jobs as a string, not a list"),
        ([JOB], "page is an array, not an object"),
        (b"<html>maintenance</html>", "not JSON"),
    ],
)
def test_a_page_that_cannot_be_counted_is_refused_in_any_mode(body: Any, said: str) -> None:
    with pytest.raises(UpstreamBadResponse, match=said) as raised:
        read(page_of(body))

    assert raised.value.info.http_status == 200


@pytest.mark.parametrize("total", [-1, True, "7", 1.5, None])
def test_a_total_that_is_not_a_count_is_no_hint(total: object) -> None:
    assert read(page_of({"total": total, "jobs": [JOB]})).total is None


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (
            400,
            {"error_code": "DLF.3051", "error_msg": "The request parameter is invalid."},
            UpstreamRejected,
            "DLF.3051",
        ),
        (
            400,
            {"error_code": "DLF.0819", "error_msg": "Workspace does not exists."},
            UpstreamRejected,
            "DLF.0819",
        ),
        (
            400,
            {"error_code": "DLF.0100", "error_msg": "The job does not exists."},
            UpstreamRejected,
            "DLF.0100",
        ),
        (
            401,
            {"error_code": "APIGW.0301", "error_msg": "bad signature", "request_id": "r"},
            UpstreamAuthRejected,
            "APIGW.0301",
        ),
        (503, {"error_code": "APIG.1000", "error_msg": "busy"}, UpstreamUnavailable, "APIG.1000"),
    ],
)
def test_an_error_answer_is_the_status_calls_error_but_never_a_missing_job(
    status: int, body: Any, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as raised:
        read(page_of(body, status))

    assert type(raised.value) is error
    assert raised.value.info.error_code == code  # type: ignore[attr-defined]


SECRET = "sk-list-page-not-real"
MASKED = Redactor([SECRET])


def test_an_error_page_that_echoes_a_credential_is_masked_before_it_is_kept() -> None:
    body = {"error_code": "APIG.0301", "error_msg": f"bad signature with {SECRET}"}

    with pytest.raises(UpstreamAuthRejected) as raised:
        interpret_page(
            page_of(body, 401),
            validator=VALIDATOR,
            mode=ValidationMode.LENIENT,
            redactor=MASKED,
        )

    assert SECRET not in raised.value.detail
    assert SECRET not in str(raised.value.info)


def test_a_page_that_echoes_a_credential_keeps_its_jobs_masked() -> None:
    page = interpret_page(
        page_of({"total": 1, "jobs": [{**JOB, "owner": SECRET}]}),
        validator=VALIDATOR,
        mode=ValidationMode.LENIENT,
        redactor=MASKED,
    )

    assert [job.name for job in page.jobs] == ["a"]
    assert SECRET not in json.dumps(page.jobs[0].raw)


# -- the whole list, without changes ------------------------------------------------------


@pytest.mark.parametrize(
    ("meaning", "mode"),
    [
        (OffsetMeaning.RECORDS, PagingMode.RECORDS),
        (OffsetMeaning.PAGES_FROM_0, PagingMode.PAGES_FROM_0),
        (OffsetMeaning.PAGES_FROM_1, PagingMode.PAGES_FROM_1),
        (OffsetMeaning.PAGES_FROM_1_STRICT, PagingMode.PAGES_FROM_1),
    ],
)
@pytest.mark.parametrize("max_limit", [1000, 100, 50, 7])
def test_every_job_once_whatever_offset_means_and_whatever_page_size_is_honoured(
    meaning: OffsetMeaning, mode: PagingMode, max_limit: int
) -> None:
    server = SimulatedJobList(list(NAMES), meaning, max_limit=max_limit)

    listing = listing_of(server)

    assert names(listing) == NAMES
    assert (listing.complete, listing.mode, listing.page_size) == (True, mode, min(100, max_limit))
    assert listing.walks == 2  # more than one answer: read twice, the two agreed
    assert listing.requests == len(server.requests)
    assert {limit for _, limit in server.requests} == {100}


def test_a_refused_limit_is_retried_once_with_the_documented_default() -> None:
    server = SimulatedJobList(list(NAMES), max_limit=50, refuse_over_limit=True)

    listing = listing_of(server)

    assert names(listing) == NAMES
    assert (listing.limit, listing.page_size) == (FALLBACK_LIMIT, FALLBACK_LIMIT)
    assert server.requests[0] == (0, 100)
    assert {limit for _, limit in server.requests[1:]} == {FALLBACK_LIMIT}
    assert "limit=100 was refused, read with limit=10" in listing.findings


def test_a_service_that_refuses_the_default_too_fails_the_listing() -> None:
    server = SimulatedJobList(list(NAMES), max_limit=5, refuse_over_limit=True)

    with pytest.raises(UpstreamRejected, match=r"at offset 0: .*DLF\.3051"):
        listing_of(server)

    assert server.requests == [(0, 100), (0, FALLBACK_LIMIT)]


def test_an_empty_list_takes_two_walks_of_two_requests_and_is_complete() -> None:
    server = SimulatedJobList([])

    listing = listing_of(server)

    assert (listing.jobs, listing.complete, listing.mode, listing.walks) == (
        (),
        True,
        PagingMode.EMPTY,
        2,
    )
    assert server.requests == [(0, 100), (1, 100)] * 2


@pytest.mark.parametrize(
    ("meaning", "mode", "per_walk"),
    [
        (OffsetMeaning.RECORDS, PagingMode.RECORDS, 3),  # offset 41 is empty
        (OffsetMeaning.PAGES_FROM_0, PagingMode.ONE_PAGE, 2),  # offset 1 is empty
        (OffsetMeaning.PAGES_FROM_1, PagingMode.PAGES_FROM_1, 3),  # offset 2 is empty
    ],
)
def test_a_list_in_one_page_is_read_twice_and_cheaply(
    meaning: OffsetMeaning, mode: PagingMode, per_walk: int
) -> None:
    server = SimulatedJobList(NAMES[:40], meaning)

    listing = listing_of(server)

    assert names(listing) == NAMES[:40]
    assert (listing.complete, listing.mode, listing.walks) == (True, mode, 2)
    assert listing.requests == len(server.requests) == 2 * per_walk


def test_a_service_that_ignores_offset_and_limit_gives_its_one_answer() -> None:
    server = SimulatedJobList(list(NAMES), OffsetMeaning.IGNORED, ignore_limit=True)

    listing = listing_of(server)

    assert names(listing) == NAMES
    assert (listing.complete, listing.mode, listing.requests) == (True, PagingMode.UNPAGED, 6)


@pytest.mark.parametrize("max_limit", [100, 50])
def test_a_service_that_ignores_offset_and_answers_a_full_page_is_not_read(max_limit: int) -> None:
    server = SimulatedJobList(
        list(NAMES), OffsetMeaning.IGNORED, max_limit=max_limit, total_meaning=TotalMeaning.WHOLE
    )

    with pytest.raises(IncompleteJobList, match="does not page"):
        listing_of(server)


def test_more_jobs_than_the_bound_fail_the_listing() -> None:
    server = SimulatedJobList(list(NAMES), OffsetMeaning.PAGES_FROM_0)

    with pytest.raises(IncompleteJobList, match="more than 120 jobs"):
        listing_of(server, max_jobs=120)


def test_more_requests_than_the_bound_fail_the_listing() -> None:
    server = SimulatedJobList(list(NAMES), OffsetMeaning.RECORDS, max_limit=10)

    with pytest.raises(IncompleteJobList, match="more than 20 requests at 100 jobs per page"):
        listing_of(server, max_requests=20)

    assert len(server.requests) == 20


def test_an_error_mid_listing_fails_it_whole_and_says_where() -> None:
    busy = (503, {"error_code": "APIG.1000", "error_msg": "busy"})
    server = SimulatedJobList(list(NAMES), OffsetMeaning.PAGES_FROM_0, fail_at={2: busy})

    with pytest.raises(UpstreamUnavailable, match=r"the job list failed at offset 2: .*HTTP 503"):
        listing_of(server)


# (A total of 100, the page size, reads as the page's count: no finding then.)
@pytest.mark.parametrize("lie", [0, 3, 99, 1_000_000])
def test_a_lying_total_changes_nothing_but_is_reported(lie: int) -> None:
    server = SimulatedJobList(list(NAMES), total_meaning=TotalMeaning.LIE, lie=lie)

    listing = listing_of(server)

    assert names(listing) == NAMES
    assert listing.complete
    assert f"total says {lie}, the list holds 250" in listing.findings


@pytest.mark.parametrize("meaning", [TotalMeaning.WHOLE, TotalMeaning.PAGE, TotalMeaning.ABSENT])
def test_a_total_of_either_reading_is_no_finding(meaning: TotalMeaning) -> None:
    listing = listing_of(SimulatedJobList(list(NAMES), total_meaning=meaning))

    assert listing.findings == ()


# -- the list changes while it is read ----------------------------------------------------


@pytest.mark.parametrize("meaning", list(OffsetMeaning)[:4])
@pytest.mark.parametrize("create", [True, False], ids=["created", "deleted"])
def test_a_job_created_or_deleted_mid_listing_is_caught_by_a_second_walk(
    meaning: OffsetMeaning, create: bool
) -> None:
    server = SimulatedJobList(
        list(NAMES), meaning, mutations=(Mutation(at=2, create=create, position=0),)
    )

    listing = listing_of(server)

    assert listing.complete
    assert names(listing) == server.names  # the list as it is after the change
    assert listing.walks == 3
    assert any("changed" in finding or "disagreed" in finding for finding in listing.findings)


def test_a_list_that_never_stops_changing_is_reported_incomplete_not_looped() -> None:
    churn = tuple(Mutation(at=number, create=True, position=0) for number in range(200))
    server = SimulatedJobList(list(NAMES), OffsetMeaning.PAGES_FROM_0, mutations=churn)

    listing = listing_of(server)

    assert not listing.complete
    assert listing.walks == 3
    assert set(NAMES) <= set(names(listing)) <= server.ever
    assert len(names(listing)) == len(set(names(listing)))
    assert "the list kept changing over 3 walks: every job seen is kept" in listing.findings


# -- discovery filters --------------------------------------------------------------------


def test_a_spec_is_parsed_tags_sorted_once_each() -> None:
    spec = DiscoverySpec.parse("p1", "w1", ["prod", "team-a", "prod"], "orders_*")

    assert spec == DiscoverySpec("p1", "w1", ("prod", "team-a"), "orders_*")
    assert [query.tags for query in spec.queries(0, 100)] == [("prod",), ("team-a",)]
    assert [query.tags for query in DiscoverySpec("p1").queries(0, 100)] == [()]


@pytest.mark.parametrize(
    ("tags", "pattern", "field"),
    [
        ("prod", None, "tags"),
        ([""], None, "tags"),
        ([" prod"], None, "tags"),
        (["a,b"], None, "tags"),
        (["a\nb"], None, "tags"),
        ([3], None, "tags"),
        (["x" * 129], None, "tags"),
        ([f"t{index}" for index in range(11)], None, "tags"),
        (None, "", "name_pattern"),
        (None, 7, "name_pattern"),
        (None, "a\x1bb", "name_pattern"),
        (None, "*" * 257, "name_pattern"),
    ],
)
def test_a_bad_filter_is_refused_by_name(tags: object, pattern: object, field: str) -> None:
    from dlf_status.errors import InvalidInput

    with pytest.raises(InvalidInput) as raised:
        DiscoverySpec.parse("p1", None, tags, pattern)

    assert raised.value.field == field


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        (None, "anything", True),
        ("orders_*", "orders_eu", True),
        ("orders_*", "Orders_eu", False),
        ("orders_*", "my_orders_eu", False),
        ("*_stream", "clicks_stream", True),
        ("job-?", "job-1", True),
        ("job-?", "job-10", False),
        ("[a-c]*", "beta", True),
        ("[!a-c]*", "beta", False),
    ],
)
def test_the_name_pattern_is_a_case_sensitive_glob_on_the_whole_name(
    pattern: str | None, name: str, matches: bool
) -> None:
    assert DiscoverySpec("p1", name_pattern=pattern).matches_name(name) is matches
