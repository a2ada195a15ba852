"""The job list over real HTTP on loopback: the list call signed as the gateway
checks it, retried and capped like the status call, and whole discoveries against a
server that pages each way the sources allow, changes between calls, fails
mid-listing and lies about `total`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status import bootstrap
from dlf_status.adapters.signing import TokenAuthenticator, canonical_query_string
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.config import Credentials
from dlf_status.discovery import Discovery
from dlf_status.domain.listing import DiscoverySpec, JobPageQuery, PagingMode
from dlf_status.errors import (
    IncompleteJobList,
    UpstreamBadResponse,
    UpstreamRejected,
    UpstreamUnavailable,
)
from tests.integration.conftest import CREDENTIALS, PROJECT, Recorder
from tests.support.job_list_server import (
    JSON,
    Mutation,
    OffsetMeaning,
    SimulatedJobList,
    TotalMeaning,
)
from tests.support.root import root_settings

pytestmark = pytest.mark.integration

MakeClient = Callable[..., HttpUpstreamClient]
LIST_PATH = f"/v1/{PROJECT}/jobs"
WORKSPACE = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
NAMES = [f"stream-{index:03d}" for index in range(230)]
BUSY = (503, {"error_code": "APIG.1000", "error_msg": "busy", "request_id": "r"})


@dataclass
class _Credentials:
    ak: str
    sk: str


@dataclass
class Served:
    """A simulated list behind the loopback server, and every request it got."""

    server: SimulatedJobList
    requests: list[Request] = field(default_factory=list)

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        return self.server.werkzeug_handler(request)


@pytest.fixture
def serve(upstream: HTTPServer) -> Callable[[SimulatedJobList], Served]:
    def start(server: SimulatedJobList) -> Served:
        served = Served(server)
        upstream.expect_request(LIST_PATH, method="GET").respond_with_handler(served)
        return served

    return start


def discover(client: HttpUpstreamClient, spec: DiscoverySpec | None = None) -> Discovery:
    discovery = bootstrap.build_job_discovery(root_settings(), client=client)
    return discovery.discover(spec or DiscoverySpec(PROJECT))


def official_signature_of(request: Request) -> str:
    """What the gateway computes from the request it received, with the official signer."""
    signed_names = request.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    raw_path, _, raw_query = request.environ["RAW_URI"].partition("?")
    sdk_request = SdkRequest(
        method=request.method,
        schema="http",
        host=request.host,
        resource_path=raw_path,
        query_params=parse_qsl(raw_query, keep_blank_values=True),
        header_params={name: request.headers[name] for name in signed_names.split(";")},
        body="",
    )
    signer = Signer(_Credentials(CREDENTIALS.ak or "", CREDENTIALS.sk or ""))
    authorization: str = signer.sign(sdk_request).header_params["Authorization"]
    return authorization


# -- one page over the wire ----------------------------------------------------------


@pytest.mark.parametrize(
    ("job_name", "tags"),
    [
        (None, ()),
        ("orders", ("prod",)),
        ("a b/c&d=e", ("team a", "prod/eu")),
        ("作业 50%", ("~x", "q?x#y", "émoji🚀")),
        ("x+y;z", ("(p)*'!",)),
    ],
)
def test_a_list_page_is_sent_as_signed_so_the_gateway_agrees(
    job_name: str | None,
    tags: tuple[str, ...],
    serve: Callable[[SimulatedJobList], Served],
    make_client: MakeClient,
) -> None:
    served = serve(SimulatedJobList(["a"]))
    query = JobPageQuery(PROJECT, WORKSPACE, offset=7, job_name=job_name, tags=tags)

    call = make_client().fetch_job_page(query)

    assert call.response.status == 200
    request = served.requests[0]
    sent = {"jobType": "REAL_TIME", "offset": "7", "limit": "100"}
    if job_name is not None:
        sent["jobName"] = job_name
    if tags:
        sent["tags"] = ",".join(tags)
    assert request.environ["RAW_URI"] == f"{LIST_PATH}?{canonical_query_string(sent)}"
    assert dict(request.args) == sent
    assert request.headers["workspace"] == WORKSPACE
    assert request.headers["X-Project-Id"] == PROJECT
    assert "workspace;" in request.headers["Authorization"]
    assert request.headers["Authorization"] == official_signature_of(request)


def test_a_list_page_with_a_token_carries_the_token_and_no_signature(
    serve: Callable[[SimulatedJobList], Served], settings_for: Callable[..., Any]
) -> None:
    served = serve(SimulatedJobList(["a"]))
    client = HttpUpstreamClient(
        settings_for(), TokenAuthenticator(Credentials(auth_token="iam-token-value"))
    )

    client.fetch_job_page(JobPageQuery(PROJECT))

    assert served.requests[0].headers["X-Auth-Token"] == "iam-token-value"
    assert "Authorization" not in served.requests[0].headers


def test_a_list_page_is_retried_like_the_status_call(
    serve: Callable[[SimulatedJobList], Served], make_client: MakeClient, sleeps: Recorder
) -> None:
    served = serve(SimulatedJobList(["a"], fail_at={0: BUSY}))

    call = make_client(max_attempts=3).fetch_job_page(JobPageQuery(PROJECT))

    assert (call.response.status, call.attempts, len(served.requests)) == (200, 2, 2)
    assert len(sleeps.sleeps) == 1


def test_a_list_page_over_the_size_cap_is_refused(
    serve: Callable[[SimulatedJobList], Served], make_client: MakeClient
) -> None:
    serve(SimulatedJobList([f"{'x' * 100}-{index}" for index in range(100)]))

    with pytest.raises(UpstreamBadResponse, match="more than the 4096"):
        make_client(max_response_bytes=4096).fetch_job_page(JobPageQuery(PROJECT))


# -- whole discoveries ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("meaning", "mode"),
    [
        (OffsetMeaning.RECORDS, PagingMode.RECORDS),
        (OffsetMeaning.PAGES_FROM_0, PagingMode.PAGES_FROM_0),
        (OffsetMeaning.PAGES_FROM_1, PagingMode.PAGES_FROM_1),
    ],
)
@pytest.mark.parametrize(
    ("max_limit", "refuse", "page_size"),
    [(1000, False, 100), (50, False, 50), (50, True, 10)],
    ids=["limit honoured", "limit clamped to 50", "limit over 50 refused"],
)
def test_every_job_is_discovered_once_however_the_service_pages(
    meaning: OffsetMeaning,
    mode: PagingMode,
    max_limit: int,
    refuse: bool,
    page_size: int,
    serve: Callable[[SimulatedJobList], Served],
    make_client: MakeClient,
) -> None:
    served = serve(SimulatedJobList(list(NAMES), meaning, max_limit, refuse))

    found = discover(make_client())

    assert [job.ref.job_name for job in found.jobs] == NAMES
    (listing,) = found.listings
    assert (listing.complete, listing.mode, listing.page_size) == (True, mode, page_size)
    assert found.requests == len(served.requests)
    assert {request.args["jobType"] for request in served.requests} == {"REAL_TIME"}


@pytest.mark.parametrize("create", [True, False], ids=["job created", "job deleted"])
@pytest.mark.parametrize("meaning", [OffsetMeaning.RECORDS, OffsetMeaning.PAGES_FROM_0])
def test_a_page_that_changes_between_calls_is_read_again_and_reported(
    create: bool,
    meaning: OffsetMeaning,
    serve: Callable[[SimulatedJobList], Served],
    make_client: MakeClient,
) -> None:
    server = SimulatedJobList(
        list(NAMES), meaning, mutations=(Mutation(at=2, create=create, position=5),)
    )
    serve(server)

    found = discover(make_client())

    assert [job.ref.job_name for job in found.jobs] == sorted(server.names)
    assert found.complete
    assert found.listings[0].walks == 3
    assert found.findings


def test_an_error_mid_listing_fails_the_whole_discovery(
    serve: Callable[[SimulatedJobList], Served], make_client: MakeClient
) -> None:
    served = serve(
        SimulatedJobList(list(NAMES), OffsetMeaning.PAGES_FROM_0, fail_at={2: BUSY, 3: BUSY})
    )

    with pytest.raises(UpstreamUnavailable, match=r"failed at offset 2: .*HTTP 503") as raised:
        discover(make_client(max_attempts=2))

    assert raised.value.info.http_status == 503
    assert len(served.requests) == 4  # offsets 0, 1, then offset 2 twice


def test_a_refusal_mid_listing_is_not_retried_and_fails_the_discovery(
    serve: Callable[[SimulatedJobList], Served], make_client: MakeClient
) -> None:
    refused = (400, {"error_code": "DLF.3051", "error_msg": "The request parameter is invalid."})
    served = serve(SimulatedJobList(list(NAMES), OffsetMeaning.RECORDS, fail_at={2: refused}))

    with pytest.raises(UpstreamRejected, match=r"offset 101: .*DLF\.3051"):
        discover(make_client())

    assert len(served.requests) == 3


@pytest.mark.parametrize("lie", [0, 7, 100_000])
def test_a_total_that_lies_skips_nothing_and_is_reported(
    lie: int, serve: Callable[[SimulatedJobList], Served], make_client: MakeClient
) -> None:
    serve(SimulatedJobList(list(NAMES), total_meaning=TotalMeaning.LIE, lie=lie))

    found = discover(make_client())

    assert [job.ref.job_name for job in found.jobs] == NAMES
    assert f"total says {lie}, the list holds {len(NAMES)}" in found.findings


def test_tags_and_the_workspace_reach_the_service_and_filter_the_jobs(
    upstream: HTTPServer, make_client: MakeClient
) -> None:
    by_tag = {
        "prod": SimulatedJobList(["orders_eu", "orders_us", "clicks"]),
        "team-a": SimulatedJobList(["orders_eu", "clicks", "billing"]),
    }
    seen: list[Request] = []

    def respond(request: Request) -> Response:
        seen.append(request)
        return by_tag[request.args["tags"]].werkzeug_handler(request)

    upstream.expect_request(LIST_PATH, method="GET").respond_with_handler(respond)
    spec = DiscoverySpec.parse(PROJECT, WORKSPACE, ["prod", "team-a"], "orders_*")

    found = discover(make_client(), spec)

    assert [job.ref.job_name for job in found.jobs] == ["orders_eu"]
    assert [job.ref.workspace for job in found.jobs] == [WORKSPACE]
    assert {request.headers["workspace"] for request in seen} == {WORKSPACE}
    assert {request.args["tags"] for request in seen} == {"prod", "team-a"}


def test_a_service_that_does_not_page_and_answers_a_full_page_fails_the_discovery(
    serve: Callable[[SimulatedJobList], Served], make_client: MakeClient
) -> None:
    serve(SimulatedJobList(list(NAMES), OffsetMeaning.IGNORED))

    with pytest.raises(IncompleteJobList, match="does not page"):
        discover(make_client())


def test_an_error_page_that_is_not_json_fails_with_the_status(
    upstream: HTTPServer, make_client: MakeClient
) -> None:
    upstream.expect_request(LIST_PATH).respond_with_response(
        Response("<html>502 Bad Gateway</html>", status=502, headers={"Content-Type": "text/html"})
    )

    with pytest.raises(UpstreamUnavailable, match="HTTP 502"):
        discover(make_client(max_attempts=1))


def test_a_service_that_answers_every_offset_with_one_short_page_gives_that_page(
    upstream: HTTPServer, make_client: MakeClient
) -> None:
    page = {
        "total": 1,
        "jobs": [
            {
                "name": "a",
                "jobType": "REAL_TIME",
                "status": "NORMAL",
                "createUser": "u",
                "createTime": 1,
            }
        ],
    }
    upstream.expect_request(LIST_PATH).respond_with_response(
        Response(json.dumps(page), status=200, headers=JSON)
    )

    found = discover(make_client())

    assert [(job.ref.job_name, job.listed.status) for job in found.jobs] == [("a", "NORMAL")]
    assert (found.complete, found.listings[0].mode) == (True, PagingMode.UNPAGED)
