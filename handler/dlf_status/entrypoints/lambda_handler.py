"""AWS Lambda entry point: `dlf_status.entrypoints.lambda_handler.handler`.

Everything is built once per container, at import (the init phase); each
invocation only parses, calls the core and maps errors (see `app.py`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dlf_status.bootstrap import build_function_app
from dlf_status.observability import EmfMetrics, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

METRICS = EmfMetrics()
APP = build_function_app(os.environ, METRICS)


# Never log whole events: an event carries the caller's headers.
@logger.inject_lambda_context(clear_state=True, log_event=False)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    METRICS.add("Invocations", 1)
    try:
        return APP.handle(
            event,
            request_id=context.aws_request_id,
            remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
        )
    finally:
        METRICS.flush()
