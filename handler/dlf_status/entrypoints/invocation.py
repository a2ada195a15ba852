"""What every Lambda function does around each invocation, in one place: the log
context of the invocation (never the event: a gateway event carries the caller's
headers), one `Invocations` count, and the metrics flushed however it ends."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dlf_status.observability import EmfMetrics, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

Handler = Callable[[Any, "LambdaContext"], dict[str, Any]]


def invocation(metrics: EmfMetrics) -> Callable[[Handler], Handler]:
    """Decorates a function's `handler`, which stays a module-level function (the
    handler path template.yaml names)."""

    def wrap(handle: Handler) -> Handler:
        @logger.inject_lambda_context(clear_state=True, log_event=False)
        @functools.wraps(handle)
        def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
            metrics.add("Invocations", 1)
            try:
                return handle(event, context)
            finally:
                metrics.flush()

        return handler

    return wrap
