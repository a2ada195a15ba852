"""`dlf-status demo` (what `make demo` runs): the main job, no cloud account needed.

A replay upstream on loopback serves recorded answers for a handful of jobs; each
is polled through the real stack (gateway event -> FunctionApp -> signed HTTP
call -> validation -> normalisation -> snapshot store) and summarised in a table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from dlf_status.bootstrap import build_function_app
from dlf_status.devtools.replay import ReplayJob, ReplayUpstream
from dlf_status.entrypoints.local_server import gateway_event
from dlf_status.observability import NullMetrics

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
# Demo-only credentials: the replay upstream checks signatures made with them.
DEMO_AK = "DEMOACCESSKEY"
DEMO_SK = "demo-secret-key-for-the-replay-upstream"
# A fixed port keeps source.endpoint, and so the content hash, the same from one
# run to the next; any free port is used when it is taken.
DEMO_PORT = 18765
JOBS: Sequence[ReplayJob] = (
    ReplayJob("orders_stream", "doc-2023-epoch-millis", "healthy"),
    ReplayJob("sms_pipeline", "doc-2019-seven-nodes", "one failing node"),
    ReplayJob("clickstream", "drift-unknown-fields", "drifts from the doc"),
    ReplayJob("orders_v2", "sdk-spellings", "the SDK's spellings"),
    ReplayJob("retired_job", "", "missing upstream"),
)


def _nodes(document: dict[str, Any]) -> str:
    summary = document["summary"]
    counts = ", ".join(
        f"{count} {status}" for status, count in summary["nodes_by_status"].items() if count
    )
    return f"{summary['node_count']} ({counts})" if counts else str(summary["node_count"])


def _validation(document: dict[str, Any]) -> str:
    validation = document["validation"]
    parts = ["valid" if validation["valid"] else f"{len(validation['violations'])} violation(s)"]
    if validation["unknown_fields"]:
        parts.append(f"{len(validation['unknown_fields'])} drift field(s)")
    return ", ".join(parts)


def _row(job: ReplayJob, answer: dict[str, Any]) -> list[str]:
    body = json.loads(answer["body"])
    if answer["statusCode"] != 200:
        slug = body["type"].rsplit(":", 1)[-1]
        code = body.get("error_code")
        return [
            job.job_name,
            job.description,
            str(answer["statusCode"]),
            slug,
            "-",
            "-",
            f"none ({code})" if code else "none",
        ]
    return [
        job.job_name,
        job.description,
        "200",
        body["job"]["status"],
        _nodes(body),
        _validation(body),
        answer["headers"]["X-Dlf-Snapshot"],
    ]


def _table(rows: list[list[str]]) -> str:
    header = ["JOB", "CASE", "HTTP", "STATUS", "NODES", "VALIDATION", "SNAPSHOT"]
    widths = [max(len(row[index]) for row in [header, *rows]) for index in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def run_demo(fixtures: Path, snapshots: Path, out: TextIO, *, verbose: bool = False) -> int:
    replay_jobs = {job.job_name: job.fixture for job in JOBS if job.fixture}
    with ReplayUpstream(fixtures, replay_jobs, ak=DEMO_AK, sk=DEMO_SK, port=DEMO_PORT) as replay:
        environ = {
            "DLF_ENDPOINT": replay.endpoint,
            "DLF_AK": DEMO_AK,
            "DLF_SK": DEMO_SK,
            "SNAPSHOT_URI": str(snapshots),
            "LOG_LEVEL": "INFO" if verbose else "CRITICAL",
        }
        app = build_function_app(environ, NullMetrics())
        if app.configuration_error is not None:
            raise app.configuration_error
        rows = []
        for job in JOBS:
            path = f"/v1/{PROJECT}/jobs/{quote(job.job_name, safe='')}/status"
            event = gateway_event("GET", path, {"Accept": "application/json"}, "127.0.0.1")
            rows.append(_row(job, app.handle(event)))
    example = (
        f"{snapshots}/latest/project_id={PROJECT}/workspace=__HIVE_DEFAULT_PARTITION__/"
        "job_name=sms_pipeline/latest.json"
    )
    out.write(
        f"dlf-status demo: {len(JOBS)} jobs polled from a replay upstream at {replay.endpoint}\n"
        "(every request AK/SK-signed and checked by the replay upstream)\n\n"
        f"{_table(rows)}\n\n"
        f"Snapshots: {snapshots}/history/... (one object per content change) and "
        f"{snapshots}/latest/... (one per job)\n"
        "Look next:\n"
        f"  python -m json.tool {example}\n"
        "  make demo again: the same content, so SNAPSHOT says 'unchanged'\n"
        "  .venv/bin/dlf-status serve    # the HTTP API on 127.0.0.1:8080 (configure: README)\n"
        "  make test                     # every suite, with a real S3 server\n"
    )
    return 0
