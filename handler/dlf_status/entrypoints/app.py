"""The function's one entry: an event in, a response out, every error mapped.

Shared by the Lambda handler and `dlf-status serve`. It parses the event, calls
the service and turns errors into RFC 9457 problems (HTTP) or problem documents
(direct invocations). No stack trace ever reaches a caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.entrypoints import events
from dlf_status.entrypoints.problems import PROBLEM_CONTENT_TYPE, mapping_for, problem_document
from dlf_status.errors import (
    ConfigurationError,
    DlfStatusError,
    InvalidInput,
    MethodNotAllowed,
    RouteNotFound,
    TickFailed,
)
from dlf_status.observability import logger
from dlf_status.service import Observation, StatusService

if TYPE_CHECKING:
    from dlf_status.poller import TickRunner

JSON_CONTENT_TYPE: Final = "application/json"
SNAPSHOT_HEADER: Final = "X-Dlf-Snapshot"
UPSTREAM_ERROR_HEADER: Final = "X-Dlf-Upstream-Error"
CORRELATION_HEADER: Final = "X-Correlation-Id"


@dataclass
class FunctionApp:
    """`service` is None when the configuration could not be read: every call then
    answers 500 with the configuration error, instead of the runtime crashing."""

    service: StatusService | None
    configuration_error: ConfigurationError | None = None
    # Built on the first tick or queue batch: a container that only answers the
    # gateway never imports the polling machinery (cold start).
    tick_runner_factory: Callable[[], TickRunner] | None = None
    _ticks_built: TickRunner | None = field(default=None, init=False, repr=False)

    def handle(
        self,
        event: Any,
        request_id: str | None = None,
        remaining_seconds: Callable[[], float] | None = None,
    ) -> dict[str, Any]:
        if events.is_http_event(event):
            return self.handle_http(event, request_id)
        if events.is_direct_invocation(event):
            return self.handle_direct(event, request_id)
        if events.is_queue_event(event):
            return self.handle_queue(event)
        if events.is_scheduled_event(event):
            return self.handle_tick(event, request_id, remaining_seconds)
        error = InvalidInput(
            "unrecognised event: expected an API Gateway event, a job, a schedule or SQS records"
        )
        logger.warning("unrecognised event", extra={"event_keys": _keys(event)})
        return problem_document(error, correlation_id=request_id)

    # -- HTTP ------------------------------------------------------------------------------

    def handle_http(self, event: Mapping[str, Any], fallback_id: str | None) -> dict[str, Any]:
        try:
            request = events.parse_http_event(event)
        except InvalidInput as error:
            return self._problem_response(error, instance=None, correlation=fallback_id)
        correlation = events.correlation_id(request, fallback_id) or uuid.uuid4().hex
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
            observation = self._service().observe(job)
        except Exception as error:  # noqa: BLE001 - the one place every error is mapped
            return self._problem_response(error, instance=request.path, correlation=correlation)
        return self._document_response(observation, correlation)

    def _document_response(self, observation: Observation, correlation: str) -> dict[str, Any]:
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
        return _http(200, observation.body, headers)

    def _problem_response(
        self, error: BaseException, *, instance: str | None, correlation: str | None
    ) -> dict[str, Any]:
        problem = self._problem(error, instance=instance, correlation=correlation)
        headers = {"Content-Type": PROBLEM_CONTENT_TYPE, "Cache-Control": "no-store"}
        if correlation:
            headers[CORRELATION_HEADER] = correlation
        if isinstance(error, MethodNotAllowed):
            headers["Allow"] = "GET"
        return _http(problem["status"], jsoncodec.canonical_bytes(problem), headers)

    # -- direct invocation -----------------------------------------------------------------

    def handle_direct(self, event: Mapping[str, Any], request_id: str | None) -> dict[str, Any]:
        """The document itself, or a problem document: a direct caller gets data, not a trace."""
        if request_id:
            logger.set_correlation_id(request_id)
        try:
            job = JobRef.parse(
                event.get("project_id"), event.get("job_name"), event.get("workspace")
            )
            return cast("dict[str, Any]", self._service().observe(job).document)
        except Exception as error:  # noqa: BLE001 - the one place every error is mapped
            return self._problem(error, instance=None, correlation=request_id)

    # -- scheduled ticks and queued jobs ---------------------------------------------------

    def handle_tick(
        self,
        event: Mapping[str, Any],
        request_id: str | None,
        remaining_seconds: Callable[[], float] | None,
    ) -> dict[str, Any]:
        """Poll every job of the tick; the report is the result (and the logs)."""
        try:
            runner = self._ticks()
            parsed = events.parse_tick_event(event)
            logger.set_correlation_id(parsed.tick_id or request_id)
            tick = runner.build_tick(
                parsed.tick_id, parsed.scheduled_time, parsed.jobs, runner.service.clock.now()
            )
        except DlfStatusError as error:
            logger.error(
                "tick failed", extra={"error": type(error).__name__, "detail": error.detail}
            )
            raise TickFailed(error.detail) from None
        return runner.run(tick, remaining_seconds).as_json()

    def handle_queue(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """A batch of fanned-out jobs; failures a retry may mend go back to SQS
        (partial batch response), the others are logged and dropped."""
        # Imported here: only queue workers pay for the batch utility.
        from aws_lambda_powertools.utilities.batch import (
            BatchProcessor,
            EventType,
            process_partial_response,
        )
        from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

        runner = self._ticks()

        def record_handler(record: SQSRecord) -> None:
            runner.poll_message(record.body)

        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        response = process_partial_response(
            event=dict(event), record_handler=record_handler, processor=processor
        )
        return dict(response)

    def _ticks(self) -> TickRunner:
        if self._ticks_built is None:
            if self.tick_runner_factory is None:
                raise self.configuration_error or ConfigurationError("dlf-status is not configured")
            self._ticks_built = self.tick_runner_factory()
        return self._ticks_built

    # -- shared ----------------------------------------------------------------------------

    def _service(self) -> StatusService:
        if self.service is None:
            raise self.configuration_error or ConfigurationError("dlf-status is not configured")
        return self.service

    def _problem(
        self, error: BaseException, *, instance: str | None, correlation: str | None
    ) -> dict[str, Any]:
        if isinstance(error, DlfStatusError):
            log = logger.error if mapping_for(error).http_status >= 500 else logger.info
            log("request failed", extra={"error": type(error).__name__, "detail": error.detail})
        else:
            logger.exception("unexpected error")
        return problem_document(error, instance=instance, correlation_id=correlation)


def _http(status: int, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": headers,
        "body": body.decode("utf-8"),
        "isBase64Encoded": False,
    }


def _keys(event: Any) -> list[str]:
    return sorted(str(key)[:40] for key in event)[:20] if isinstance(event, dict) else []
