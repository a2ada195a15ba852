"""The events each function takes, parsed: API Gateway proxy events (HTTP API payload
2.0, REST API payload 1.0), direct invocations, and schedules. Each function knows its
event type and calls its own parser: nothing here guesses a type from a shape. Parsing
only; a malformed event is `InvalidInput`. (Queue batches are parsed by Powertools'
batch utility in `queue.py`.)

API Gateway hands path parameters to the function already percent-decoded, and so
does `dlf-status serve`: a job name arrives as the job's real name. The raw path
is decoded too by HTTP APIs (either payload version) but not by REST APIs.

**Routes** (`ROUTES`) are matched precisely, so that a job named `history`, `status`
or `a/transitions` never reaches another route:

1. An event that names one of our routes (payload 2.0: `routeKey`, method first;
   payload 1.0: `resource`) and carries that route's path parameters is that route,
   with those parameters as given: API Gateway matched the encoded path segment by
   segment and decoded each parameter, so `a%2Fb` is the job `a/b`.
2. Anything else (a catch-all route: `$default`, `/{proxy+}`) is matched on the path,
   segment by segment. A REST API path is still encoded: it is split on `/` first and
   each segment decoded after, so `a%2Fb` stays one segment. An HTTP API path arrives
   decoded, where `%2F` and `/` cannot be told apart: a name holding `/` matches
   only through rule 1 (the routes template.yaml declares, and `serve`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple
from urllib.parse import unquote

from dlf_status.domain.model import JobRef, refuse_unprintable
from dlf_status.errors import InvalidInput


class Route(enum.StrEnum):
    """dlf-status's routes, by their path templates (as template.yaml declares them)."""

    STATUS = "/v1/{project_id}/jobs/{job_name}/status"
    FLEET = "/v1/{project_id}/jobs"
    HISTORY = "/v1/{project_id}/jobs/{job_name}/history"
    TRANSITIONS = "/v1/{project_id}/jobs/{job_name}/transitions"

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.value.strip("/").split("/"))

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(segment[1:-1] for segment in self.segments if segment.startswith("{"))


ROUTES: Final = tuple(Route)
ROUTE: Final = Route.STATUS.value
_CORRELATION_ID: Final = re.compile(r"[A-Za-z0-9._:/=+-]{1,128}")


class HttpRequest(NamedTuple):
    method: str
    path: str
    path_parameters: Mapping[str, str] | None
    headers: Mapping[str, str]  # lower-case names
    request_id: str | None
    path_is_encoded: bool = False
    # The route the gateway matched (`routeKey` without its method, or `resource`).
    route_template: str | None = None
    # Query parameters, decoded; a name given more than once has its values joined
    # with ',' (as HTTP APIs do).
    query: Mapping[str, str] = MappingProxyType({})

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class RouteMatch(NamedTuple):
    route: Route
    parameters: dict[str, str]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"malformed gateway event: {what} is not a string")
    return value


def parse_http_event(event: object) -> HttpRequest:
    """The parts of a gateway event we use, from either payload version (the event
    says which: payload 2.0 carries `"version": "2.0"`)."""
    if not isinstance(event, dict):
        raise InvalidInput("malformed gateway event: not a JSON object")
    context = event.get("requestContext")
    if not isinstance(context, dict):
        raise InvalidInput("malformed gateway event: no requestContext")
    if event.get("version") == "2.0":
        http = context.get("http")
        if not isinstance(http, dict):
            raise InvalidInput("malformed gateway event: no requestContext.http")
        method = _text(http.get("method"), "method")
        path = _text(event.get("rawPath", http.get("path", "")), "rawPath")
    else:
        method = _text(event.get("httpMethod"), "httpMethod")
        path = _text(event.get("path", ""), "path")
    raw_headers = event.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise InvalidInput("malformed gateway event: headers is not an object")
    headers = {
        str(name).lower(): value for name, value in raw_headers.items() if isinstance(value, str)
    }
    # Payload 1.0 keeps only the last of repeated headers in `headers`; its
    # multiValueHeaders has them all, joined here as payload 2.0 joins them.
    headers.update(_joined(event.get("multiValueHeaders"), "multiValueHeaders", lower=True))
    parameters = event.get("pathParameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise InvalidInput("malformed gateway event: pathParameters is not an object")
    query = _joined(event.get("multiValueQueryStringParameters"), "multiValueQueryStringParameters")
    if not query:
        single = event.get("queryStringParameters") or {}
        if not isinstance(single, dict) or not all(
            isinstance(value, str) for value in single.values()
        ):
            raise InvalidInput(
                "malformed gateway event: queryStringParameters is not an object of strings"
            )
        query = {str(name): value for name, value in single.items()}
    request_id = context.get("requestId")
    return HttpRequest(
        method=method.upper(),
        path=path,
        path_parameters=parameters,
        headers=headers,
        request_id=request_id if isinstance(request_id, str) else None,
        # Only REST API events (no "version" key) keep the path percent-encoded.
        path_is_encoded="version" not in event,
        route_template=_route_template(event),
        query=query,
    )


def _joined(value: object, what: str, *, lower: bool = False) -> dict[str, str]:
    """`{name: [values]}` (payload 1.0's multi-value maps) as `{name: "v1,v2"}`."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(values, list) and all(isinstance(item, str) for item in values)
        for values in value.values()
    ):
        raise InvalidInput(f"malformed gateway event: {what} is not an object of string lists")
    return {
        (str(name).lower() if lower else str(name)): ",".join(values)
        for name, values in value.items()
        if values
    }


def _route_template(event: Mapping[str, Any]) -> str | None:
    """The route API Gateway matched: `routeKey` without its method (payload 2.0), or
    `resource` (payload 1.0); None when the event names none."""
    template = event.get("routeKey") if event.get("version") == "2.0" else event.get("resource")
    if not isinstance(template, str):
        return None
    return template.rpartition(" ")[2]


def match_route(request: HttpRequest) -> RouteMatch | None:
    """The route and its path parameters (see the module's docstring for the rules);
    None when the path is none of ours."""
    parameters = request.path_parameters
    for route in ROUTES:
        names = route.parameter_names
        if (
            request.route_template == route.value
            and parameters is not None
            and all(name in parameters for name in names)
        ):
            return RouteMatch(route, {name: _text(parameters[name], name) for name in names})
    segments = request.path.strip("/").split("/")
    for route in ROUTES:
        expected = route.segments
        if len(segments) != len(expected):
            continue
        found: dict[str, str] = {}
        for segment, template in zip(segments, expected, strict=True):
            if template.startswith("{"):
                # Bytes that are not UTF-8 become lone surrogates, which JobRef refuses,
                # rather than U+FFFD, which would name another job.
                encoded = request.path_is_encoded
                name = template[1:-1]
                found[name] = unquote(segment, errors="surrogateescape") if encoded else segment
            elif segment != template:
                break
        else:
            return RouteMatch(route, found)
    return None


def correlation_id(request: HttpRequest, fallback: str | None) -> str | None:
    """The caller's X-Correlation-Id when it is sane, else the gateway's request id."""
    return sane_correlation_id(request.header("x-correlation-id")) or request.request_id or fallback


def sane_correlation_id(offered: str | None) -> str | None:
    """`offered` when it may name a request in every log line (1 to 128 printable
    characters of a small set), else None."""
    return offered if offered and _CORRELATION_ID.fullmatch(offered) else None


# -- direct invocations --------------------------------------------------------------------

_DIRECT_KEYS: Final = frozenset({"project_id", "job_name", "workspace"})


def parse_direct_event(event: object) -> JobRef:
    """`{"project_id", "job_name", "workspace"?}`: the job to observe."""
    if not isinstance(event, dict):
        raise InvalidInput("a direct invocation is a JSON object: {project_id, job_name}")
    unknown = sorted(str(key)[:40] for key in event.keys() - _DIRECT_KEYS)[:5]
    if unknown:
        raise InvalidInput(
            f"a direct invocation takes project_id, job_name and workspace, not {unknown}"
        )
    return JobRef.parse(event.get("project_id"), event.get("job_name"), event.get("workspace"))


# -- scheduled ticks -------------------------------------------------------------------------

_TICK_KEYS: Final = frozenset({"jobs", "tick_id", "scheduled_time"})


class TickEvent(NamedTuple):
    """A schedule's request: an id that a retried delivery repeats, a slot time,
    and the job list (None: read JOBS_URI)."""

    tick_id: str | None
    scheduled_time: str | None
    jobs: Any | None


def _optional_text(event: Mapping[str, Any], key: str) -> str | None:
    value = event.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 1024:
        raise InvalidInput(f"malformed scheduled event: {key} must be a string", field=key)
    # A tick id names the tick in logs, reports, queued jobs and freshness records: a
    # control character or a lone surrogate (not Unicode text) would corrupt or break them.
    refuse_unprintable(value, key)
    return value


def parse_tick_event(event: object) -> TickEvent:
    """A classic EventBridge rule event (`"detail-type": "Scheduled Event"`: its id and
    time name the tick, the jobs come from JOBS_URI), or the tick input of
    EventBridge Scheduler (or of a rule with a constant input): an object of `jobs`,
    `tick_id` and `scheduled_time`, each optional (`{}` polls JOBS_URI now)."""
    if not isinstance(event, dict):
        raise InvalidInput("a scheduled event is a JSON object")
    if "source" in event or "detail-type" in event:
        if event.get("source") != "aws.events" or event.get("detail-type") != "Scheduled Event":
            raise InvalidInput(
                "an EventBridge event for a tick must be a Scheduled Event from aws.events"
            )
        return TickEvent(
            tick_id=_optional_text(event, "id"),
            scheduled_time=_optional_text(event, "time"),
            jobs=None,
        )
    unknown = sorted(str(key)[:40] for key in event.keys() - _TICK_KEYS)[:5]
    if unknown:
        raise InvalidInput(f"a tick's input takes jobs, tick_id and scheduled_time, not {unknown}")
    return TickEvent(
        tick_id=_optional_text(event, "tick_id"),
        scheduled_time=_optional_text(event, "scheduled_time"),
        jobs=event.get("jobs"),
    )
