"""The queue worker function: `dlf_status.entrypoints.lambda_queue.handler`.

SQS batches of fanned-out jobs, answered with partial batch responses (`queue.py`).
Built once per container, at import; a function that could not start fails every
invocation, so that the whole batch goes back to the queue (and, after its last
receipt, to the dead-letter queue) rather than being dropped.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dlf_status import bootstrap
from dlf_status.entrypoints import queue, startup
from dlf_status.entrypoints.invocation import invocation
from dlf_status.errors import ConfigurationError
from dlf_status.observability import EmfMetrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

METRICS = EmfMetrics()
STARTED = startup.start(
    lambda settings: bootstrap.build_queue_worker(settings, metrics=METRICS), os.environ
)


@invocation(METRICS)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    if isinstance(STARTED, ConfigurationError):
        # A new error each time: raising the held one again would chain every
        # failed invocation's frames (and their events) onto its traceback.
        raise ConfigurationError(STARTED.detail)
    return queue.handle_batch(STARTED, event, lambda: context.get_remaining_time_in_millis() / 1000)
