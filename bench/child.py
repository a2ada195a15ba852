"""What the benchmark's child processes share: the baseline's work and the peak RSS."""

from __future__ import annotations

from pathlib import Path


def baseline() -> None:
    """The straightforward stack's start: requests, boto3 and an S3 client."""
    import boto3
    import requests  # noqa: F401 - the import is what is measured

    boto3.client("s3", region_name="us-east-1")


def peak_rss_mib() -> float:
    """VmHWM: this process's peak resident set. Not getrusage's ru_maxrss, which on
    Linux carries the parent's peak over fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
