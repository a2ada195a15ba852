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

    assert events.match_route(request) == (
        events.Route.STATUS,
        {"project_id": PROJECT, "job_name": "a%41 b"},
    )


def test_a_rest_api_proxy_path_is_decoded_once() -> None:
    request = events.parse_http_event(rest_api_event(PROJECT, "a%41 b"))

    assert request.method == "GET"
    assert events.match_route(request) == (
        events.Route.STATUS,
        {"project_id": PROJECT, "job_name": "a%41 b"},
    )


@pytest.mark.parametrize(
    ("route", "name", "expected"),
    [
        ("status", "history", events.Route.STATUS),
        ("history", "status", events.Route.HISTORY),
        ("history", "history", events.Route.HISTORY),
        ("transitions", "a/transitions", events.Route.TRANSITIONS),
        ("status", "a/b/history", events.Route.STATUS),
        ("history", "x/../jobs", events.Route.HISTORY),
        (None, None, events.Route.FLEET),
    ],
)
def test_a_named_route_is_taken_with_its_parameters_whatever_the_name_holds(
    route: str | None, name: str | None, expected: events.Route
) -> None:
    """API Gateway matched the route on the encoded path and decoded each parameter:
    a decoded name holding '/' or a route's word is still one job of that route."""
    v2 = events.parse_http_event(http_api_event(PROJECT, name, route=route))
    v1 = events.parse_http_event(rest_api_event(PROJECT, name, route=route))

    for request in (v2, v1):
        match = events.match_route(request)
        assert match is not None
        assert match.route is expected
        assert match.parameters.get("job_name") == name
        assert match.parameters["project_id"] == PROJECT


def test_a_decoded_catch_all_path_is_split_as_it_stands() -> None:
    """An HTTP API catch-all ($default) hands over the decoded path: `%2F` cannot be
    told from `/` there, so `a%2Fb` never reaches the job `a/b` that way (only through
    the declared routes), and `jobs/x%2Fhistory` reads as the history of `x`."""
    event = http_api_event(PROJECT, "a/b", route="history")
    event["routeKey"] = "$default"
    event.pop("pathParameters")

    assert events.match_route(events.parse_http_event(event)) is None
    event["rawPath"] = f"/v1/{PROJECT}/jobs/x/history"
    assert events.match_route(events.parse_http_event(event)) == (
        events.Route.HISTORY,
        {"project_id": PROJECT, "job_name": "x"},
    )


def test_query_parameters_come_from_either_payload_joined_when_repeated() -> None:
    v2 = events.parse_http_event(
        http_api_event(PROJECT, None, route=None, query={"status": "EXCEPTION,UNKNOWN"})
    )
    v1 = events.parse_http_event(
        rest_api_event(PROJECT, None, route=None, query={"status": ["EXCEPTION", "UNKNOWN"]})
    )
    bare = events.parse_http_event(rest_api_event(PROJECT, None, route=None))

    assert v2.query == v1.query == {"status": "EXCEPTION,UNKNOWN"}
    assert bare.query == {}


def test_repeated_rest_api_headers_are_joined_as_http_apis_join_them() -> None:
    event = rest_api_event(PROJECT, "j", headers={"If-None-Match": ['"a"', '"b"']})

    assert events.parse_http_event(event).header("if-none-match") == '"a","b"'


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("queryStringParameters", ["not", "an", "object"]),
        ("queryStringParameters", {"limit": 5}),
        ("multiValueQueryStringParameters", {"limit": "5"}),
        ("multiValueHeaders", {"workspace": [1]}),
    ],
)
def test_malformed_query_or_header_maps_are_invalid_input(key: str, value: object) -> None:
    event = rest_api_event(PROJECT, "j")
    event[key] = value

    with pytest.raises(InvalidInput, match="malformed gateway event"):
        events.parse_http_event(event)


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
