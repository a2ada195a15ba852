"""One cold start, measured from inside a fresh interpreter.

    python -m bench.cold_init_child baseline|handler

Prints `<milliseconds to ready> <peak RSS in MiB>`. The interpreter's own start-up
is the same for both and is left out: the figure is what each process imports and
builds before it can serve.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

STARTED = time.perf_counter()


def baseline() -> None:
    import boto3
    import requests  # noqa: F401 - the import is what is measured

    boto3.client("s3", region_name="us-east-1")


def handler() -> None:
    import dlf_status.entrypoints.lambda_handler as module

    assert module.APP.service is not None, module.APP.configuration_error


def peak_rss_mib() -> float:
    """VmHWM: this process's peak resident set. Not getrusage's ru_maxrss, which on
    Linux carries the parent's peak over fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    {"baseline": baseline, "handler": handler}[sys.argv[1]]()
    elapsed_ms = (time.perf_counter() - STARTED) * 1000
    print(f"{elapsed_ms:.2f} {peak_rss_mib():.1f}")
