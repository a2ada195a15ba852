"""The HTTP API function: `dlf_status.entrypoints.lambda_http.handler`.

API Gateway proxy events only (HTTP API payload 2.0, REST API payload 1.0): the status
route and the read routes. Built once per container, at import (the init phase),
through the composition root; each invocation parses, routes, answers and maps errors
(`http_api.py`). A function that
could not start answers every request with the `configuration` problem.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dlf_status import bootstrap
from dlf_status.entrypoints import startup
from dlf_status.entrypoints.http_api import StatusApi, api_for
from dlf_status.entrypoints.invocation import invocation
from dlf_status.errors import ConfigurationError
from dlf_status.observability import EmfMetrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

METRICS = EmfMetrics()
# The status route's service; the read routes' store reader is built at their first
# request (a container that serves only the status route never imports it).
STARTED = startup.start(
    lambda settings: api_for(settings, bootstrap.build_status_service(settings, metrics=METRICS)),
    os.environ,
)
API = (
    StatusApi(startup.refuse(STARTED), startup.refuse_reads(STARTED))
    if isinstance(STARTED, ConfigurationError)
    else STARTED
)


@invocation(METRICS)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    return API.handle(
        event,
        request_id=context.aws_request_id,
        remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
    )
