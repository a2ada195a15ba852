"""Invocation events built from the payloads aws-sam-cli recorded (tests/events/)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

EVENTS = Path(__file__).resolve().parent.parent / "events"
ROUTE_KEY = "GET /v1/{project_id}/jobs/{job_name}/status"
# The last path segment of each job route; None: the fleet (`/v1/{project_id}/jobs`).
JOB_ROUTES = ("status", "history", "transitions")


@cache
def _recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


def http_api_event(
    project_id: str,
    job_name: str | None,
    *,
    workspace: str | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    route: str | None = "status",
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event for one of our routes (`route`: the last
    segment of a job route, None for the fleet), as API Gateway sends it: path
    parameters, raw path and query values already percent-decoded."""
    event = copy.deepcopy(_recorded("apigw-http-api-v2.json"))
    if route is None:
        template = "/v1/{project_id}/jobs"
        path = f"/v1/{project_id}/jobs"
        event["pathParameters"] = {"project_id": project_id}
    else:
        template = f"/v1/{{project_id}}/jobs/{{job_name}}/{route}"
        path = f"/v1/{project_id}/jobs/{job_name}/{route}"
        event["pathParameters"] = {"project_id": project_id, "job_name": job_name}
    route_key = f"GET {template}"
    event["routeKey"] = route_key
    event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = path
    event["rawQueryString"] = ""
    event.pop("queryStringParameters", None)
    if query:
        event["rawQueryString"] = "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
        event["queryStringParameters"] = dict(query)
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["body"] = None
    event["isBase64Encoded"] = False
    event["headers"] = {"accept": "application/json", **(headers or {})}
    if workspace is not None:
        event["headers"]["workspace"] = workspace
    return event


def rest_api_event(
    project_id: str,
    job_name: str | None,
    *,
    workspace: str | None = None,
    route: str | None = "status",
    query: dict[str, list[str]] | None = None,
    headers: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """A REST API (payload 1.0) proxy event: a {proxy+} resource, the path still encoded
    (`route` as for http_api_event); query values and headers as lists, as payload 1.0
    carries them in its multi-value maps (the single-value maps keep the last)."""
    event = copy.deepcopy(_recorded("apigw-rest-v1.json"))
    path = f"/v1/{quote(project_id, safe='', errors='surrogatepass')}/jobs"
    if route is not None:
        assert job_name is not None
        path += f"/{quote(job_name, safe='', errors='surrogatepass')}/{route}"
    event["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["httpMethod"] = "GET"
    event["body"] = None
    event["isBase64Encoded"] = False
    event["headers"] = {"Accept": "application/json"}
    event["multiValueHeaders"] = {"Accept": ["application/json"]}
    for name, values in (headers or {}).items():
        event["headers"][name] = values[-1]
        event["multiValueHeaders"][name] = values
    if workspace is not None:
        event["headers"]["workspace"] = workspace
        event["multiValueHeaders"]["workspace"] = [workspace]
    event["queryStringParameters"] = None
    event["multiValueQueryStringParameters"] = None
    if query:
        event["queryStringParameters"] = {name: values[-1] for name, values in query.items()}
        event["multiValueQueryStringParameters"] = query
    return event


def scheduled_event(**overrides: Any) -> dict[str, Any]:
    event = copy.deepcopy(_recorded("eventbridge-scheduled.json"))
    event.update(overrides)
    return event


def queue_event(bodies: list[str]) -> dict[str, Any]:
    """An SQS batch as Lambda receives it, one recorded record per body."""
    recorded = _recorded("sqs-receive-message.json")
    records = []
    for index, body in enumerate(bodies):
        record = copy.deepcopy(recorded["Records"][0])
        record["messageId"] = f"message-{index}"
        record["body"] = body
        records.append(record)
    return {"Records": records}


@dataclass
class _FakeLambdaContext:
    function_name: str = "dlf-status"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:dlf-status"
    memory_limit_in_mb: int = 128
    aws_request_id: str = "0f1e2d3c-request"
    log_group_name: str = "/aws/lambda/dlf-status"
    log_stream_name: str = "stream"
    remaining_millis: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def lambda_context(**overrides: Any) -> Any:
    """What the Lambda runtime passes as `context` (typed Any: it stands in for
    Powertools' LambdaContext)."""
    return _FakeLambdaContext(**overrides)
