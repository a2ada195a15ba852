"""The HTTP function's handler in a process of its own, started cold, answering one of the
costliest bodies: `make bench` runs it in a cgroup with the function's Lambda limits and
times the whole process, cold start included (bench/run.py, `lambda limits`).

    python -m bench.limits_child NAME

NAME is a body of bench/worst_bodies.py, served by bench/worst_server.py at DLF_ENDPOINT.
Prints the answer's status code.
"""

from __future__ import annotations

import json
import sys


def answer(name: str) -> int:
    import dlf_status.entrypoints.lambda_http as module
    from tests.support.events import http_api_event, lambda_context

    response = module.handler(
        http_api_event("b384b9e9ab9b4ee8994c8633aabc9505", name),
        lambda_context(aws_request_id=f"limits-{name}"),
    )
    # What the runtime then does: serialise the answer to post it.
    json.dumps(response).encode()
    status: int = response["statusCode"]
    return status


if __name__ == "__main__":
    print(answer(sys.argv[1]))
