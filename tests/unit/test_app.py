"""FunctionApp with fake ports: routing, input checks and error mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from dlf_status.adapters.clock import FixedClock
from dlf_status.domain.contract import ValidationReport
from dlf_status.entrypoints.app import FunctionApp
from dlf_status.errors import ConfigurationError, TickFailed, UpstreamUnavailable
from dlf_status.observability import NullMetrics
from dlf_status.service import StatusService
from tests.conftest import StubValidator
from tests.support.events import http_api_event, scheduled_event
from tests.support.fakes import FakeUpstream, MemoryStore, json_answer

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
HEALTHY = json_answer(200, {"name": "job_sms", "status": "NORMAL"})


def app_with(*answers: Any) -> tuple[FunctionApp, FakeUpstream]:
    upstream = FakeUpstream(list(answers) or [HEALTHY])
    service = StatusService(
        upstream=upstream,
        store=MemoryStore(),
        validator=StubValidator(ValidationReport()),
        clock=FixedClock(datetime(2026, 11, 25, tzinfo=UTC)),
        metrics=NullMetrics(),
    )
    return FunctionApp(service), upstream


def body(answer: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(answer["body"])
    return data


def test_a_get_on_the_route_answers_the_document_with_the_correlation_id() -> None:
    app, upstream = app_with()
    event = http_api_event(PROJECT, "job_sms", headers={"x-correlation-id": "trace-42"})

    answer = app.handle(event)

    assert answer["statusCode"] == 200
    assert answer["headers"]["X-Correlation-Id"] == "trace-42"
    assert answer["headers"]["Cache-Control"] == "no-store"
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
    event["rawPath"] = "/v1/p/jobs"

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
    app = FunctionApp(
        None, configuration_error=ConfigurationError("set DLF_ENDPOINT or DLF_REGION")
    )

    answer = app.handle(http_api_event(PROJECT, "job_sms"))

    assert answer["statusCode"] == 500
    assert body(answer)["detail"] == "set DLF_ENDPOINT or DLF_REGION"


def test_a_direct_invocation_with_bad_input_gets_a_problem_document() -> None:
    app, _ = app_with()

    problem = app.handle({"project_id": PROJECT, "job_name": ""})

    assert problem["status"] == 400
    assert problem["field"] == "job_name"


def test_a_direct_invocation_that_fails_upstream_gets_a_problem_document() -> None:
    app, _ = app_with(UpstreamUnavailable("cannot reach DataArts Studio"))

    problem = app.handle({"project_id": PROJECT, "job_name": "job_sms"}, request_id="req-1")

    assert problem["status"] == 502
    assert problem["correlation_id"] == "req-1"


@pytest.mark.parametrize("event", [{}, [], "text", None, {"unrelated": 1}])
def test_an_unrecognised_event_is_a_problem_not_a_crash(event: Any) -> None:
    app, upstream = app_with()

    problem = app.handle(event)

    assert problem["status"] == 400
    assert upstream.calls == []


def test_a_scheduled_event_without_a_tick_runner_fails_the_invocation() -> None:
    app, upstream = app_with()

    with pytest.raises(TickFailed, match="not configured"):
        app.handle(scheduled_event())

    assert upstream.calls == []
