"""The HTTP API: an API Gateway proxy event in, an HTTP response out, every error mapped.

Shared by the Lambda HTTP function (`lambda_http.py`) and `dlf-status serve`. It parses
the event, routes it (`events.match_route`), calls the service or the store reader and
turns errors into RFC 9457 problems. No stack trace ever reaches a caller.

Routes: `GET /v1/{project_id}/jobs/{job_name}/status` (the upstream, now), and the
read routes answered from the snapshot store only (`read_routes.py`): the fleet
`GET /v1/{project_id}/jobs`, a job's `.../history` and `.../transitions`. The read
routes are built at their first request, not at start: a container that only ever
serves the status route never imports the readers.

Every 2xx carries an entity tag and `Cache-Control`, and becomes a 304 when
`If-None-Match` matches (`conditional.py`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.entrypoints import conditional, events
from dlf_status.entrypoints.problems import PROBLEM_CONTENT_TYPE, logged_problem, mapping_for
from dlf_status.errors import InvalidInput, MethodNotAllowed, RouteNotFound
from dlf_status.observability import logger
from dlf_status.service import Observation, Observe

if TYPE_CHECKING:
    from dlf_status.config import Settings
    from dlf_status.entrypoints.read_routes import ReadRoutes
    from dlf_status.readers import StoreReader
    from dlf_status.service import StatusService

JSON_CONTENT_TYPE: Final = "application/json"
SNAPSHOT_HEADER: Final = "X-Dlf-Snapshot"
UPSTREAM_ERROR_HEADER: Final = "X-Dlf-Upstream-Error"
CORRELATION_HEADER: Final = "X-Correlation-Id"
# Every answer of a route depends on the optional `workspace` header: a cache must
# keep one copy per workspace.
VARY: Final = "workspace"
# Used when no STALE_AFTER is given (a test, a caller of its own).
DEFAULT_STALE_AFTER_SECONDS: Final = 900.0


ReaderFactory = Callable[[], "StoreReader"]


class Answer(NamedTuple):
    """A route's successful answer, before the conditional request is applied."""

    status: int
    body: bytes
    headers: dict[str, str]
    etag: str | None


class StatusApi:
    """The routes over `observe` (a StatusService's, or, in a function that could not
    start, one that raises the configuration error) and a store reader, made by
    `reader` at the first read request (None: this API serves the status route only).
    `stale_after` is STALE_AFTER: when a fleet row is stale, and how long store reads
    may be cached."""

    def __init__(
        self,
        observe: Observe,
        reader: ReaderFactory | None = None,
        *,
        stale_after: float = DEFAULT_STALE_AFTER_SECONDS,
    ) -> None:
        self._observe = observe
        self._reader = reader
        self._stale_after = stale_after
        self._reads: ReadRoutes | None = None
        self._reads_lock = threading.Lock()

    def handle(
        self,
        event: Any,
        request_id: str | None = None,
        remaining_seconds: Callable[[], float] | None = None,
    ) -> dict[str, Any]:
        """The answer to one event; `remaining_seconds` is the invocation's time left
        (no transition record and its event outrun it)."""
        try:
            request = events.parse_http_event(event)
        except InvalidInput as error:
            return _problem_response(error, instance=None, correlation=request_id)
        correlation = events.correlation_id(request, request_id) or uuid.uuid4().hex
        logger.set_correlation_id(correlation)
        logger.append_keys(http_method=request.method, path=request.path[:300])
        try:
            return self._route(request, correlation, remaining_seconds)
        finally:
            logger.remove_keys(["http_method", "path"])

    def _route(
        self,
        request: events.HttpRequest,
        correlation: str,
        remaining_seconds: Callable[[], float] | None = None,
    ) -> dict[str, Any]:
        try:
            match = events.match_route(request)
            if match is None:
                raise RouteNotFound(
                    f"no route for {request.path[:200]!r}; the routes are "
                    + ", ".join(route.value for route in events.ROUTES)
                )
            if request.method != "GET":
                raise MethodNotAllowed(f"{request.method} is not allowed; use GET")
            if match.route is events.Route.STATUS:
                parameters = match.parameters
                job = JobRef.parse(
                    parameters["project_id"], parameters["job_name"], request.header("workspace")
                )
                answer = _document_answer(self._observe(job, remaining_seconds=remaining_seconds))
            else:
                answer = self._read_routes(request).answer(match, request)
        except Exception as error:  # noqa: BLE001 - the one place every error is mapped
            return _problem_response(error, instance=request.path, correlation=correlation)
        return _conditional_response(answer, request, correlation)

    def _read_routes(self, request: events.HttpRequest) -> ReadRoutes:
        """The read routes, built once, at their first request."""
        if self._reader is None:
            raise RouteNotFound(
                f"no route for {request.path[:200]!r}: this server answers "
                f"{events.Route.STATUS.value} only"
            )
        with self._reads_lock:
            if self._reads is None:
                from dlf_status.entrypoints.read_routes import ReadRoutes

                self._reads = ReadRoutes(self._reader(), self._stale_after)
            return self._reads


def api_for(settings: Settings, service: StatusService) -> StatusApi:
    """The API as the HTTP function and `serve` run it: the status route over
    `service`, the read routes over a store reader of the same store (built at the
    first read request), STALE_AFTER from the settings."""
    from dlf_status import bootstrap

    def reader() -> StoreReader:
        return bootstrap.build_store_reader(settings, store=service.store)

    return StatusApi(service.observe, reader, stale_after=settings.stale_after)


def _document_answer(observation: Observation) -> Answer:
    headers = {
        "Content-Type": JSON_CONTENT_TYPE,
        # Fetched now on every call: keep a copy if you like, but ask again each time.
        "Cache-Control": conditional.REVALIDATE,
        "Vary": VARY,
        SNAPSHOT_HEADER: str(observation.snapshot),
    }
    if observation.upstream_error is not None:
        headers["Age"] = str(int(observation.stale_age_seconds))
        headers[UPSTREAM_ERROR_HEADER] = mapping_for(observation.upstream_error).slug
    etag = None
    if observation.content_hash:
        # The content hash names the content; a stale answer is another representation
        # of it (it says stale), so a client that held the fresh one gets it whole.
        suffix = "-stale" if observation.stale else ""
        etag = conditional.weak_etag(observation.content_hash + suffix)
        headers["ETag"] = etag
    # The bytes the snapshot was stored as: the document is not serialised again.
    return Answer(200, observation.body, headers, etag)


def _conditional_response(
    answer: Answer, request: events.HttpRequest, correlation: str
) -> dict[str, Any]:
    """`answer`, or 304 Not Modified (no body; the same validators and caching headers)
    when it would be 2xx and the caller's If-None-Match matches its entity tag."""
    headers = {**answer.headers, CORRELATION_HEADER: correlation}
    if (
        200 <= answer.status < 300
        and answer.etag is not None
        and conditional.none_match(request.header("if-none-match"), answer.etag)
    ):
        del headers["Content-Type"]
        return _http(304, b"", headers)
    return _http(answer.status, answer.body, headers)


def _problem_response(
    error: BaseException, *, instance: str | None, correlation: str | None
) -> dict[str, Any]:
    problem = logged_problem(error, instance=instance, correlation_id=correlation)
    headers = {"Content-Type": PROBLEM_CONTENT_TYPE, "Cache-Control": conditional.NO_STORE}
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
