"""The events each function takes, parsed: API Gateway proxy events (HTTP API payload
2.0, REST API payload 1.0), direct invocations, and schedules. Each function knows its
event type and calls its own parser: nothing here guesses a type from a shape. Parsing
only; a malformed event is `InvalidInput`. (Queue batches are parsed by Powertools'
batch utility in `queue.py`.)

API Gateway hands path parameters to the function already percent-decoded, and so
does `dlf-status serve`: a job name arrives as the job's real name. The raw path
is decoded too by HTTP APIs (either payload version) but not by REST APIs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple
from urllib.parse import unquote

from dlf_status.domain.model import JobRef
from dlf_status.errors import InvalidInput

ROUTE: Final = "/v1/{project_id}/jobs/{job_name}/status"
_ROUTE_SEGMENTS: Final = ("v1", None, "jobs", None, "status")
_CORRELATION_ID: Final = re.compile(r"[A-Za-z0-9._:/=+-]{1,128}")


class HttpRequest(NamedTuple):
    method: str
    path: str
    path_parameters: Mapping[str, str] | None
    headers: Mapping[str, str]  # lower-case names
    request_id: str | None
    path_is_encoded: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


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
    parameters = event.get("pathParameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise InvalidInput("malformed gateway event: pathParameters is not an object")
    request_id = context.get("requestId")
    return HttpRequest(
        method=method.upper(),
        path=path,
        path_parameters=parameters,
        headers=headers,
        request_id=request_id if isinstance(request_id, str) else None,
        # Only REST API events (no "version" key) keep the path percent-encoded.
        path_is_encoded="version" not in event,
    )


def match_route(request: HttpRequest) -> dict[str, str] | None:
    """project_id and job_name from the route's path parameters, or from the path
    itself for a catch-all route; None when the path is not ours."""
    parameters = request.path_parameters
    if parameters and "project_id" in parameters and "job_name" in parameters:
        return {
            "project_id": _text(parameters["project_id"], "project_id"),
            "job_name": _text(parameters["job_name"], "job_name"),
        }
    segments = request.path.strip("/").split("/")
    if len(segments) != len(_ROUTE_SEGMENTS):
        return None
    found: dict[str, str] = {}
    for segment, expected, name in zip(
        segments, _ROUTE_SEGMENTS, (None, "project_id", None, "job_name", None), strict=True
    ):
        if expected is not None and segment != expected:
            return None
        if name is not None:
            # Bytes that are not UTF-8 become lone surrogates, which JobRef refuses,
            # rather than U+FFFD, which would name another job.
            encoded = request.path_is_encoded
            found[name] = unquote(segment, errors="surrogateescape") if encoded else segment
    return found


def correlation_id(request: HttpRequest, fallback: str | None) -> str | None:
    """The caller's X-Correlation-Id when it is sane, else the gateway's request id."""
    offered = request.header("x-correlation-id")
    if offered and _CORRELATION_ID.fullmatch(offered):
        return offered
    return request.request_id or fallback


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
