"""Peak memory of a handler process that served one large body.

    python -m bench.memory_child baseline|handler

Prints the peak RSS in MiB after the work. The handler is configured from the
environment (the benchmark points it at a local upstream that answers 1,000 nodes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def baseline() -> None:
    import boto3
    import requests  # noqa: F401 - the import is what is measured

    boto3.client("s3", region_name="us-east-1")


def handler() -> None:
    import dlf_status.entrypoints.lambda_handler as module
    from tests.support.events import http_api_event, lambda_context

    answer = module.handler(
        http_api_event("b384b9e9ab9b4ee8994c8633aabc9505", "bench_job"),
        lambda_context(aws_request_id="bench"),
    )
    nodes = json.loads(answer["body"])["summary"]["node_count"]
    assert nodes == 1000, answer


def peak_rss_mib() -> float:
    """VmHWM: this process's peak resident set. Not getrusage's ru_maxrss, which on
    Linux carries the parent's peak over fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    {"baseline": baseline, "handler": handler}[sys.argv[1]]()
    print(f"{peak_rss_mib():.1f}")
