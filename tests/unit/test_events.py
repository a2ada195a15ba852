from __future__ import annotations

import pytest

from dlf_status.domain.model import JobRef
from dlf_status.entrypoints import events
from dlf_status.errors import InvalidInput
from tests.support.events import http_api_event, rest_api_event, scheduled_event

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"


def test_each_recorded_event_is_read_by_its_own_parser_and_refused_by_the_others() -> None:
    direct = {"project_id": PROJECT, "job_name": "j"}
    recorded = scheduled_event()

    assert events.parse_http_event(http_api_event(PROJECT, "j")).method == "GET"
    assert events.parse_http_event(rest_api_event(PROJECT, "j")).method == "GET"
    assert events.parse_direct_event(direct) == JobRef(PROJECT, "j")
    assert events.parse_tick_event(recorded) == events.TickEvent(
        recorded["id"], recorded["time"], None
    )
    for parse, others in (
        (events.parse_http_event, [direct, recorded]),
        (events.parse_direct_event, [http_api_event(PROJECT, "j"), recorded]),
        (events.parse_tick_event, [http_api_event(PROJECT, "j"), direct]),
    ):
        for other in others:
            with pytest.raises(InvalidInput):
                parse(other)


@pytest.mark.parametrize(
    "event",
    [
        {"job": [{"project_id": PROJECT, "job_name": "j"}]},  # a typo would poll JOBS_URI
        {"source": "aws.events", "detail-type": "EC2 Instance State-change Notification"},
        {"source": "my.app", "detail-type": "Scheduled Event"},
        [],
        "tick",
    ],
)
def test_a_schedule_takes_its_own_input_or_a_scheduled_event_and_nothing_else(
    event: object,
) -> None:
    with pytest.raises(InvalidInput):
        events.parse_tick_event(event)


def test_a_tick_input_may_name_nothing_and_then_polls_jobs_uri_now() -> None:
    assert events.parse_tick_event({}) == events.TickEvent(None, None, None)


def test_a_direct_invocation_with_an_unknown_key_is_refused_not_half_read() -> None:
    """`workspace_id` for `workspace` would otherwise observe the job of no workspace."""
    with pytest.raises(InvalidInput, match="workspace_id"):
        events.parse_direct_event({"project_id": PROJECT, "job_name": "j", "workspace_id": "w"})


def test_http_api_route_parameters_are_used_as_given() -> None:
    request = events.parse_http_event(http_api_event(PROJECT, "a%41 b"))

    assert events.match_route(request) == {"project_id": PROJECT, "job_name": "a%41 b"}


def test_a_rest_api_proxy_path_is_decoded_once() -> None:
    request = events.parse_http_event(rest_api_event(PROJECT, "a%41 b"))

    assert request.method == "GET"
    assert events.match_route(request) == {"project_id": PROJECT, "job_name": "a%41 b"}


@pytest.mark.parametrize(
    "path",
    ["/", "/v1/p/jobs/j", "/v1/p/jobs/j/status/extra", "/v2/p/jobs/j/status", "/v1/p/job/j/status"],
)
def test_other_paths_are_not_our_route(path: str) -> None:
    event = http_api_event(PROJECT, "j")
    del event["pathParameters"]
    event["rawPath"] = path

    assert events.match_route(events.parse_http_event(event)) is None


def test_headers_are_read_case_insensitively() -> None:
    event = rest_api_event(PROJECT, "j", workspace="ws1")

    assert events.parse_http_event(event).header("Workspace") == "ws1"


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        ("abc-123", "abc-123"),
        ("bad\nvalue", "gateway-id"),
        ("x" * 200, "gateway-id"),
        (None, "gateway-id"),
    ],
)
def test_correlation_id_prefers_a_sane_caller_value(offered: str | None, expected: str) -> None:
    event = http_api_event(
        PROJECT, "j", headers={} if offered is None else {"x-correlation-id": offered}
    )
    event["requestContext"]["requestId"] = "gateway-id"

    assert events.correlation_id(events.parse_http_event(event), "fallback") == expected


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.pop("requestContext"),
        lambda e: e["requestContext"].pop("http"),
        lambda e: e["requestContext"]["http"].update(method=7),
        lambda e: e.update(headers=["not", "an", "object"]),
        lambda e: e.update(pathParameters="project"),
        lambda e: e.update(rawPath=None),
    ],
)
def test_a_malformed_gateway_event_is_invalid_input(mutate: object) -> None:
    event = http_api_event(PROJECT, "j")
    mutate(event)  # type: ignore[operator]

    with pytest.raises(InvalidInput, match="malformed gateway event"):
        events.parse_http_event(event)
