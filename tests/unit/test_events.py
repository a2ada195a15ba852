from __future__ import annotations

import pytest

from dlf_status.entrypoints import events
from dlf_status.errors import InvalidInput
from tests.support.events import http_api_event, rest_api_event, scheduled_event

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"


def test_recorded_events_are_recognised_by_shape() -> None:
    assert events.is_http_event(http_api_event(PROJECT, "j"))
    assert events.is_http_event(rest_api_event(PROJECT, "j"))
    assert not events.is_http_event(scheduled_event())
    assert events.is_direct_invocation({"project_id": PROJECT, "job_name": "j"})
    assert not events.is_direct_invocation(scheduled_event())


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
