"""The whole path: gateway event -> signed upstream call -> validation ->
normalisation -> snapshot, against pytest-httpserver and both stores."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from contract_tests.support import INVALID_FIXTURES, VALID_FIXTURES
from dlf_status import bootstrap
from dlf_status.adapters.store_s3 import PROBE_KEYS, S3Store
from dlf_status.domain import jsoncodec
from dlf_status.domain.model import ValidationMode
from dlf_status.domain.ports import ObjectStore
from dlf_status.entrypoints.direct import DirectInvocation
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.service import StatusService
from tests.integration.conftest import (
    JOB,
    PROJECT,
    ListMetrics,
    exchange_response,
    history_keys,
    match_path,
    status_path,
    stored_keys,
)
from tests.support.events import http_api_event, rest_api_event
from tests.support.root import root_settings
from tests.support.seaweed import PATIENT_STORE_SECONDS, free_ports

pytestmark = pytest.mark.integration

MakeService = Callable[..., StatusService]
LATEST = (
    f"latest/project_id={PROJECT}/workspace=__HIVE_DEFAULT_PARTITION__/job_name=job_sms/latest.json"
)


def body_of(answer: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(answer["body"])
    return data


def serve(upstream: HTTPServer, fixture: str, job_name: str = "job_sms") -> None:
    upstream.expect_oneshot_request(match_path(job_name)).respond_with_response(
        exchange_response(fixture)
    )


def test_a_gateway_request_returns_the_document_and_writes_history_and_latest(
    upstream: HTTPServer, make_service: MakeService, store: ObjectStore
) -> None:
    serve(upstream, "doc-2019-seven-nodes")
    app = StatusApi(make_service().observe)

    answer = app.handle(http_api_event(PROJECT, "job_sms"))

    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"] == "application/json"
    assert answer["headers"]["X-Dlf-Snapshot"] == "changed"
    document = body_of(answer)
    assert document["source"]["job_name"] == "job_sms"
    assert document["source"]["endpoint"] == upstream.url_for("").rstrip("/")
    assert document["summary"]["nodes_by_status"]["EXCEPTION"] == 1
    keys = stored_keys(store)
    assert LATEST in keys
    [history] = history_keys(store)
    assert history.startswith(
        f"history/project_id={PROJECT}/workspace=__HIVE_DEFAULT_PARTITION__/job_name=job_sms/date=2026-11-25/"
    )
    stored = store.get(LATEST)
    assert stored is not None
    assert jsoncodec.loads(stored.body) == document


def test_unchanged_content_refreshes_latest_only_and_a_change_adds_history(
    upstream: HTTPServer, make_service: MakeService, store: ObjectStore
) -> None:
    service = make_service()
    for fixture in ("doc-2023-epoch-millis", "doc-2023-epoch-millis", "doc-2019-seven-nodes"):
        serve(upstream, fixture)

    outcomes = [str(service.observe(JOB).snapshot) for _ in range(3)]

    assert outcomes == ["changed", "unchanged", "changed"]
    assert len(history_keys(store)) == 2
    latest = store.get(LATEST)
    assert latest is not None
    assert jsoncodec.loads(latest.body)["job"]["last_update_time"] == "2019-03-01T03:03:26.000Z"


def test_s3_objects_carry_the_schema_version_and_content_hash(
    upstream: HTTPServer, make_service: MakeService, s3_store: S3Store
) -> None:
    store = s3_store
    serve(upstream, "doc-2024-success")

    make_service(store=store).observe(JOB)

    bucket, _, prefix = store.location.removeprefix("s3://").partition("/")
    # (not the probe objects: they are no snapshots)
    for key in [key for key in stored_keys(store) if key not in PROBE_KEYS]:
        head = store.client.head_object(Bucket=bucket, Key=f"{prefix}/{key}")
        assert head["Metadata"]["schema-version"] == "1.1"
        assert len(head["Metadata"]["content-hash"]) == 64
        assert head["ContentType"] == "application/json"


def test_a_rest_api_event_gets_the_same_document(
    upstream: HTTPServer, make_service: MakeService
) -> None:
    serve(upstream, "doc-2024-success", job_name="job sms")
    app = StatusApi(make_service().observe)

    answer = app.handle(rest_api_event(PROJECT, "job sms"))

    assert answer["statusCode"] == 200
    assert body_of(answer)["source"]["job_name"] == "job sms"


def test_the_workspace_header_is_passed_on(upstream: HTTPServer, make_service: MakeService) -> None:
    upstream.expect_oneshot_request(
        status_path("job_sms"), headers={"workspace": "ws0123456789"}
    ).respond_with_response(exchange_response("doc-2024-success"))
    app = StatusApi(make_service().observe)

    answer = app.handle(http_api_event(PROJECT, "job_sms", workspace="ws0123456789"))

    assert answer["statusCode"] == 200
    assert body_of(answer)["source"]["workspace"] == "ws0123456789"


def test_a_direct_invocation_returns_the_same_document(
    upstream: HTTPServer, make_service: MakeService
) -> None:
    serve(upstream, "doc-2024-success")
    serve(upstream, "doc-2024-success")
    service = make_service()

    direct = DirectInvocation(service.observe).handle(
        {"project_id": PROJECT, "job_name": "job_sms", "workspace": None}
    )
    via_gateway = body_of(StatusApi(service.observe).handle(http_api_event(PROJECT, "job_sms")))

    for document in (direct, via_gateway):
        document.pop("observed_at")
    assert direct == via_gateway


# Every recorded exchange of the contract, mapped by the function (lenient mode).
EXPECTED_STATUS = {
    "dlf-error-other-code": 502,
    "doc-2019-seven-nodes": 200,
    "doc-2023-epoch-millis": 200,
    "doc-2024-failure-dlf0100": 404,
    "doc-2024-success": 200,
    "drift-unknown-fields": 200,
    "error-camelcase-body": 502,
    "gateway-400-apig": 502,
    "gateway-401-clock-skew": 502,
    "gateway-401-signature": 502,
    "gateway-401-token": 502,
    "gateway-403-forbidden": 502,
    "gateway-404-route": 502,
    "gateway-429-no-retry-after": 502,
    "gateway-429-retry-after": 502,
    "gateway-504-backend-timeout": 504,
    "java-nulls": 200,
    "java-nulls-no-nodes": 200,
    "nodes-empty": 200,
    "nodes-missing": 200,
    "sdk-extra-statuses": 200,
    "sdk-spellings": 200,
    "server-500-html": 502,
    "server-502-text": 502,
    "server-503-json": 502,
    "status-unlisted-value": 200,
    "timestamps-finer-than-milliseconds": 200,
    "timestamps-iso-offsets": 200,
    # known-bad answers: lenient mode still answers when the body is a JSON object
    "body-not-an-object": 502,
    "counter-as-string": 200,
    "dlf-error-bad-code": 502,
    "gateway-401-without-request-id": 502,
    "html-on-200": 502,
    "job-name-null": 200,
    "job-without-name": 200,
    "node-without-name": 200,
    "nodes-not-a-list": 200,
    "retry-after-not-a-time": 502,
    "status-number": 200,
    "timestamp-fractional-epoch": 200,
    "timestamp-unreadable": 200,
}
EXPECTED_PROBLEM = {
    "doc-2024-failure-dlf0100": "job-not-found",
    "gateway-401-signature": "upstream-auth-rejected",
    "gateway-403-forbidden": "upstream-auth-rejected",
    "gateway-504-backend-timeout": "upstream-timeout",
    "html-on-200": "upstream-failure",
}


def test_the_mapping_table_covers_every_contract_fixture() -> None:
    assert sorted(EXPECTED_STATUS) == sorted(
        path.stem for path in VALID_FIXTURES + INVALID_FIXTURES
    )


@pytest.mark.parametrize("store", ["local"], indirect=True)
@pytest.mark.parametrize("fixture", sorted(EXPECTED_STATUS))
def test_every_upstream_fixture_maps_to_its_http_answer(
    fixture: str, upstream: HTTPServer, make_service: MakeService
) -> None:
    upstream.expect_request(status_path("job_sms")).respond_with_response(
        exchange_response(fixture)
    )
    app = StatusApi(make_service(max_attempts=1, serve_stale=False).observe)

    answer = app.handle(http_api_event(PROJECT, "job_sms"))

    assert answer["statusCode"] == EXPECTED_STATUS[fixture]
    if answer["statusCode"] != 200:
        problem = body_of(answer)
        assert answer["headers"]["Content-Type"] == "application/problem+json"
        assert problem["status"] == answer["statusCode"]
        assert problem["instance"] == f"/v1/{PROJECT}/jobs/job_sms/status"
        assert "Traceback" not in answer["body"]
        if fixture in EXPECTED_PROBLEM:
            assert problem["type"] == f"urn:dlf-status:problem:{EXPECTED_PROBLEM[fixture]}"


def test_a_problem_carries_the_upstreams_codes(
    upstream: HTTPServer, make_service: MakeService
) -> None:
    serve(upstream, "gateway-401-signature")
    app = StatusApi(make_service(serve_stale=False).observe)

    problem = body_of(app.handle(http_api_event(PROJECT, "job_sms")))

    assert problem["error_code"] == "APIGW.0301"
    assert problem["request_id"] == f"{0x301:032x}"
    assert problem["upstream_status"] == 401
    assert "credentials" in problem["detail"]


def test_strict_mode_turns_a_violation_into_a_502(
    upstream: HTTPServer, make_service: MakeService
) -> None:
    upstream.expect_request(status_path("job_sms")).respond_with_response(
        exchange_response("status-number")
    )
    app = StatusApi(make_service(mode=ValidationMode.STRICT, serve_stale=False).observe)

    answer = app.handle(http_api_event(PROJECT, "job_sms"))

    assert answer["statusCode"] == 502
    problem = body_of(answer)
    assert problem["type"] == "urn:dlf-status:problem:contract-violation"
    assert problem["violations"] == [
        {"path": "$.status", "message": "3 is not of type 'string', 'null'"}
    ]


def test_when_the_upstream_fails_the_latest_snapshot_is_served_stale(
    upstream: HTTPServer, make_service: MakeService, metrics: ListMetrics
) -> None:
    serve(upstream, "doc-2023-epoch-millis")
    upstream.expect_request(status_path("job_sms")).respond_with_response(
        exchange_response("server-503-json")
    )
    app = StatusApi(make_service(max_attempts=1).observe)
    first = body_of(app.handle(http_api_event(PROJECT, "job_sms")))

    answer = app.handle(http_api_event(PROJECT, "job_sms"))

    assert answer["statusCode"] == 200
    assert answer["headers"]["X-Dlf-Upstream-Error"] == "upstream-failure"
    assert answer["headers"]["X-Dlf-Snapshot"] == "not-written"
    stale = body_of(answer)
    assert stale["stale"] is True
    assert stale["stale_age_seconds"] > 0
    assert answer["headers"]["Age"] == str(int(stale["stale_age_seconds"]))
    assert {key: stale[key] for key in first} == first
    assert "StaleServed" in metrics.names()


def test_a_missing_job_is_never_served_stale(
    upstream: HTTPServer, make_service: MakeService
) -> None:
    serve(upstream, "doc-2023-epoch-millis")
    serve(upstream, "doc-2024-failure-dlf0100")
    app = StatusApi(make_service().observe)
    app.handle(http_api_event(PROJECT, "job_sms"))

    answer = app.handle(http_api_event(PROJECT, "job_sms"))

    assert answer["statusCode"] == 404


def test_stale_serving_can_be_disabled(upstream: HTTPServer, make_service: MakeService) -> None:
    serve(upstream, "doc-2023-epoch-millis")
    upstream.expect_request(status_path("job_sms")).respond_with_response(
        exchange_response("server-503-json")
    )
    app = StatusApi(make_service(max_attempts=1, serve_stale=False).observe)
    app.handle(http_api_event(PROJECT, "job_sms"))

    assert app.handle(http_api_event(PROJECT, "job_sms"))["statusCode"] == 502


def test_a_failed_snapshot_write_does_not_hide_the_answer(
    upstream: HTTPServer,
    make_client: Callable[..., Any],
    validator: Any,
    metrics: ListMetrics,
) -> None:
    from dlf_status.adapters.store_s3 import make_s3_client

    (closed_port,) = free_ports(1)
    unreachable = S3Store(
        make_s3_client(f"http://127.0.0.1:{closed_port}", call_seconds=PATIENT_STORE_SECONDS),
        "snapshots",
        "p",
    )
    service = bootstrap.build_status_service(
        root_settings(),
        upstream=make_client(),
        store=unreachable,
        validator=validator,
        metrics=metrics,
    )
    serve(upstream, "doc-2024-success")

    answer = StatusApi(service.observe).handle(http_api_event(PROJECT, "job_sms"))

    assert answer["statusCode"] == 200
    assert answer["headers"]["X-Dlf-Snapshot"] == "failed"
    assert body_of(answer)["job"]["name"] == "job_sms"
    assert "SnapshotWriteFailures" in metrics.names()


def test_an_upstream_timeout_is_a_504(upstream: HTTPServer, make_service: MakeService) -> None:
    import time

    from werkzeug import Request, Response

    def slow(_: Request) -> Response:
        time.sleep(0.8)
        return exchange_response("doc-2024-success")

    upstream.expect_request(status_path("job_sms")).respond_with_handler(slow)
    app = StatusApi(make_service(read_timeout=0.2, serve_stale=False).observe)

    answer = app.handle(http_api_event(PROJECT, "job_sms"))

    assert answer["statusCode"] == 504
    assert body_of(answer)["type"] == "urn:dlf-status:problem:upstream-timeout"
