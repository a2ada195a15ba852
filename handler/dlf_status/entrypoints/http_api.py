"""The HTTP API: an API Gateway proxy event in, an HTTP response out, every error mapped.

Shared by the Lambda HTTP function (`lambda_http.py`) and `dlf-status serve`. It parses
the event, routes it, calls the service and turns errors into RFC 9457 problems. No
stack trace ever reaches a caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Final

from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.entrypoints import events
from dlf_status.entrypoints.problems import PROBLEM_CONTENT_TYPE, logged_problem, mapping_for
from dlf_status.errors import InvalidInput, MethodNotAllowed, RouteNotFound
from dlf_status.observability import logger
from dlf_status.service import Observation

JSON_CONTENT_TYPE: Final = "application/json"
SNAPSHOT_HEADER: Final = "X-Dlf-Snapshot"
UPSTREAM_ERROR_HEADER: Final = "X-Dlf-Upstream-Error"
CORRELATION_HEADER: Final = "X-Correlation-Id"

Observe = Callable[[JobRef], Observation]


class StatusApi:
    """`GET /v1/{project_id}/jobs/{job_name}/status` over `observe` (a StatusService's,
    or, in a function that could not start, one that raises the configuration error)."""

    def __init__(self, observe: Observe) -> None:
        self._observe = observe

    def handle(self, event: Any, request_id: str | None = None) -> dict[str, Any]:
        try:
            request = events.parse_http_event(event)
        except InvalidInput as error:
            return _problem_response(error, instance=None, correlation=request_id)
        correlation = events.correlation_id(request, request_id) or uuid.uuid4().hex
        logger.set_correlation_id(correlation)
        logger.append_keys(http_method=request.method, path=request.path[:300])
        try:
            return self._route(request, correlation)
        finally:
            logger.remove_keys(["http_method", "path"])

    def _route(self, request: events.HttpRequest, correlation: str) -> dict[str, Any]:
        try:
            parameters = events.match_route(request)
            if parameters is None:
                raise RouteNotFound(f"no route for {request.path[:200]!r}; try {events.ROUTE}")
            if request.method != "GET":
                raise MethodNotAllowed(f"{request.method} is not allowed; use GET")
            job = JobRef.parse(
                parameters["project_id"], parameters["job_name"], request.header("workspace")
            )
            observation = self._observe(job)
        except Exception as error:  # noqa: BLE001 - the one place every error is mapped
            return _problem_response(error, instance=request.path, correlation=correlation)
        return _document_response(observation, correlation)


def _document_response(observation: Observation, correlation: str) -> dict[str, Any]:
    headers = {
        "Content-Type": JSON_CONTENT_TYPE,
        "Cache-Control": "no-store",
        SNAPSHOT_HEADER: str(observation.snapshot),
        CORRELATION_HEADER: correlation,
    }
    if observation.stale:
        headers["Age"] = str(int(observation.document.get("stale_age_seconds", 0)))
    if observation.upstream_error is not None:
        headers[UPSTREAM_ERROR_HEADER] = mapping_for(observation.upstream_error).slug
    # The bytes the snapshot was stored as: the document is not serialised again.
    return _http(200, observation.body, headers)


def _problem_response(
    error: BaseException, *, instance: str | None, correlation: str | None
) -> dict[str, Any]:
    problem = logged_problem(error, instance=instance, correlation_id=correlation)
    headers = {"Content-Type": PROBLEM_CONTENT_TYPE, "Cache-Control": "no-store"}
    if correlation:
        headers[CORRELATION_HEADER] = correlation
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = "GET"
    return _http(problem["status"], jsoncodec.canonical_bytes(problem), headers)


def _http(status: int, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": headers,
        "body": body.decode("utf-8"),
        "isBase64Encoded": False,
    }
