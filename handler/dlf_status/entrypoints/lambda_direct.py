"""The direct-invocation function: `dlf_status.entrypoints.lambda_direct.handler`.

`aws lambda invoke` with `{"project_id", "job_name", "workspace"?}`: the document, or
the problem document (`direct.py`). Built once per container, at import; a function
that could not start answers every invocation with the `configuration` problem.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dlf_status import bootstrap
from dlf_status.entrypoints import startup
from dlf_status.entrypoints.direct import DirectInvocation
from dlf_status.entrypoints.invocation import invocation
from dlf_status.errors import ConfigurationError
from dlf_status.observability import EmfMetrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

METRICS = EmfMetrics()
STARTED = startup.start(
    lambda settings: bootstrap.build_status_service(settings, metrics=METRICS), os.environ
)
DIRECT = DirectInvocation(
    startup.refuse(STARTED) if isinstance(STARTED, ConfigurationError) else STARTED.observe
)


@invocation(METRICS)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    return DIRECT.handle(
        event,
        request_id=context.aws_request_id,
        remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
    )
