"""Direct invocations (`aws lambda invoke`): a job in, its document or a problem out.

`{"project_id": ..., "job_name": ..., "workspace": ...}` gets the same document as the
HTTP API, or the problem document (never a stack trace).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dlf_status.entrypoints import events
from dlf_status.entrypoints.problems import logged_problem
from dlf_status.observability import logger
from dlf_status.service import Observe


class DirectInvocation:
    """Observe the job an invocation names through `observe` (a StatusService's, or
    one that raises the configuration error)."""

    def __init__(self, observe: Observe) -> None:
        self._observe = observe

    def handle(
        self,
        event: Any,
        request_id: str | None = None,
        remaining_seconds: Callable[[], float] | None = None,
    ) -> dict[str, Any]:
        """The document itself, or a problem document: a caller gets data, not a trace.
        `remaining_seconds`: the invocation's time left (no record outruns it)."""
        if request_id:
            logger.set_correlation_id(request_id)
        try:
            job = events.parse_direct_event(event)
            document = self._observe(job, remaining_seconds=remaining_seconds).document
        except Exception as error:  # noqa: BLE001 - the one place every error is mapped
            return logged_problem(error, correlation_id=request_id)
        # The Lambda runtime serialises the result: a dict, as it was built.
        return dict(document)
