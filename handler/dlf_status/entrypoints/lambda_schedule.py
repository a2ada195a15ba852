"""The scheduled tick function: `dlf_status.entrypoints.lambda_schedule.handler`.

EventBridge Scheduler's tick input (or a classic rule's Scheduled Event): polls every
job of the tick in place, or fans it out to the queue (`schedule.py`). Built once per
container, at import; a function that could not start fails every invocation
(`TickFailed`), so that Lambda retries it and then sends it to the on-failure
destination.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dlf_status import bootstrap
from dlf_status.entrypoints import schedule, startup
from dlf_status.entrypoints.invocation import invocation
from dlf_status.errors import ConfigurationError
from dlf_status.observability import EmfMetrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

METRICS = EmfMetrics()
STARTED = startup.start(
    lambda settings: bootstrap.build_tick_runner(settings, metrics=METRICS), os.environ
)


@invocation(METRICS)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    if isinstance(STARTED, ConfigurationError):
        raise schedule.tick_failed(STARTED) from STARTED
    return schedule.run_tick(
        STARTED,
        event,
        request_id=context.aws_request_id,
        remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
    )
