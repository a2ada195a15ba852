"""The HTTP API and direct invocations over the root's service with fake ports:
routing, input checks and error mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dlf_status.domain import jsoncodec
from dlf_status.domain.normalize import content_hash
from dlf_status.entrypoints import startup
from dlf_status.entrypoints.direct import DirectInvocation
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.errors import ConfigurationError, UpstreamUnavailable
from tests.support.events import http_api_event
from tests.support.fakes import FakeUpstream, MemoryStore
from tests.support.root import HEALTHY, fake_service

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"


def app_with(*answers: Any) -> tuple[StatusApi, FakeUpstream]:
    upstream = FakeUpstream(list(answers) or [HEALTHY])
    return StatusApi(fake_service(upstream).observe), upstream


def direct_with(*answers: Any) -> DirectInvocation:
    return DirectInvocation(fake_service(FakeUpstream(list(answers) or [HEALTHY])).observe)


def body(answer: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(answer["body"])
    return data


def test_a_get_on_the_route_answers_the_document_with_the_correlation_id() -> None:
    app, upstream = app_with()
    event = http_api_event(PROJECT, "job_sms", headers={"x-correlation-id": "trace-42"})

    answer = app.handle(event)

    assert answer["statusCode"] == 200
    assert answer["headers"]["X-Correlation-Id"] == "trace-42"
    # Fetched now: a copy may be kept, but is asked again each time (README).
    assert answer["headers"]["Cache-Control"] == "no-cache"
    assert answer["headers"]["ETag"] == f'W/"{content_hash(body(answer))}"'
    assert answer["headers"]["Vary"] == "workspace"
    assert body(answer)["job"]["status"] == "NORMAL"
    assert [job.job_name for job in upstream.calls] == ["job_sms"]


def test_another_method_is_405_with_allow_and_no_upstream_call() -> None:
    app, upstream = app_with()

    answer = app.handle(http_api_event(PROJECT, "job_sms", method="POST"))

    assert answer["statusCode"] == 405
    assert answer["headers"]["Allow"] == "GET"
    assert body(answer)["type"] == "urn:dlf-status:problem:method-not-allowed"
    assert upstream.calls == []


def test_another_path_is_404_route_not_found() -> None:
    app, upstream = app_with()
    event = http_api_event(PROJECT, "job_sms")
    del event["pathParameters"]
    event["rawPath"] = "/v1/p/things"

    answer = app.handle(event)

    assert answer["statusCode"] == 404
    assert body(answer)["type"] == "urn:dlf-status:problem:route-not-found"
    assert upstream.calls == []


@pytest.mark.parametrize(
    ("project_id", "job_name", "field"),
    [
        (PROJECT, "a\r\nX-Injected: 1", "job_name"),
        (PROJECT, "..", "job_name"),
        (PROJECT, "x" * 500, "job_name"),
        ("../other", "job", "project_id"),
    ],
)
def test_hostile_path_parameters_are_a_400_naming_the_field(
    project_id: str, job_name: str, field: str
) -> None:
    app, upstream = app_with()

    answer = app.handle(http_api_event(project_id, job_name))

    assert answer["statusCode"] == 400
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert body(answer)["field"] == field
    assert upstream.calls == []


def test_a_hostile_workspace_header_is_a_400() -> None:
    app, upstream = app_with()

    answer = app.handle(http_api_event(PROJECT, "job_sms", workspace="ws\r\nX-Evil: 1"))

    assert answer["statusCode"] == 400
    assert body(answer)["field"] == "workspace"
    assert upstream.calls == []


def test_an_unexpected_error_is_a_500_without_its_text(capsys: pytest.CaptureFixture[str]) -> None:
    app, _ = app_with(RuntimeError("boom at secret place"))

    answer = app.handle(http_api_event(PROJECT, "job_sms"))

    assert answer["statusCode"] == 500
    assert "boom" not in answer["body"]
    assert body(answer)["type"] == "urn:dlf-status:problem:internal"
    logged = capsys.readouterr().out
    assert "boom at secret place" in logged
    assert '"message":"unexpected error"' in logged


def test_a_configuration_error_answers_every_call_with_a_500_that_says_so() -> None:
    problem = ConfigurationError("set DLF_ENDPOINT or DLF_REGION")
    app = StatusApi(startup.refuse(problem))

    answer = app.handle(http_api_event(PROJECT, "job_sms"))
    other_route = app.handle(http_api_event(PROJECT, "job_sms", method="POST"))

    assert answer["statusCode"] == 500
    assert body(answer)["detail"] == "set DLF_ENDPOINT or DLF_REGION"
    assert other_route["statusCode"] == 405


def test_a_configuration_error_answers_every_direct_invocation_too() -> None:
    direct = DirectInvocation(startup.refuse(ConfigurationError("no credentials configured")))

    problem = direct.handle({"project_id": PROJECT, "job_name": "job_sms"})

    assert (problem["status"], problem["detail"]) == (500, "no credentials configured")


def test_a_direct_invocation_with_bad_input_gets_a_problem_document() -> None:
    problem = direct_with().handle({"project_id": PROJECT, "job_name": ""})

    assert problem["status"] == 400
    assert problem["field"] == "job_name"


def test_a_direct_invocation_that_fails_upstream_gets_a_problem_document() -> None:
    direct = direct_with(UpstreamUnavailable("cannot reach DataArts Studio"))

    problem = direct.handle({"project_id": PROJECT, "job_name": "job_sms"}, request_id="req-1")

    assert problem["status"] == 502
    assert problem["correlation_id"] == "req-1"


@pytest.mark.parametrize("event", [{}, [], "text", None, {"unrelated": 1}])
def test_an_event_that_is_not_a_gateway_event_is_a_400_not_a_crash(event: Any) -> None:
    app, upstream = app_with()

    answer = app.handle(event)

    assert answer["statusCode"] == 400
    assert body(answer)["type"] == "urn:dlf-status:problem:invalid-input"
    assert upstream.calls == []


@pytest.mark.parametrize(
    "event",
    [
        {},
        [],
        "text",
        None,
        {"unrelated": 1},
        {"project_id": PROJECT, "job_name": "job_sms", "workspace_id": "w1"},
        http_api_event(PROJECT, "job_sms"),
    ],
)
def test_a_direct_invocation_that_is_not_a_job_is_a_400_not_a_crash(event: Any) -> None:
    upstream = FakeUpstream([HEALTHY])
    direct = DirectInvocation(fake_service(upstream).observe)

    problem = direct.handle(event)

    assert (problem["status"], problem["type"]) == (400, "urn:dlf-status:problem:invalid-input")
    assert upstream.calls == []


def test_a_direct_invocation_answers_the_document_the_gateway_answers() -> None:
    store = MemoryStore()
    direct = DirectInvocation(fake_service(store=store).observe)

    document = direct.handle({"project_id": PROJECT, "job_name": "job_sms"})

    assert document["job"]["status"] == "NORMAL"
    assert jsoncodec.canonical_bytes(document) == next(
        body for key, body in store.objects.items() if key.endswith("latest.json")
    )


def test_an_answer_is_serialised_once_and_served_as_it_was_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryStore()
    app = StatusApi(fake_service(store=store).observe)
    event = http_api_event(PROJECT, "job_sms")
    serialised: list[object] = []
    members = jsoncodec.canonical_members
    whole = jsoncodec.canonical_bytes

    def counting_members(obj: Any) -> Any:
        serialised.append(obj)
        return members(obj)

    def counting_bytes(obj: Any) -> bytes:
        serialised.append(obj)
        return whole(obj)

    monkeypatch.setattr(jsoncodec, "canonical_members", counting_members)
    monkeypatch.setattr(jsoncodec, "canonical_bytes", counting_bytes)

    answer = app.handle(event)

    [latest] = [body for key, body in store.objects.items() if key.endswith("latest.json")]
    assert answer["body"].encode("utf-8") == latest
    # One serialisation of the document: for the store, the hash and the answer alike.
    assert [type(obj).__name__ for obj in serialised] == ["dict"]
    assert "observed_at" in serialised[0]  # type: ignore[operator]
