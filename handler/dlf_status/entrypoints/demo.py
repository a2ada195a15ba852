"""`dlf-status demo` (what `make demo` runs): the main job, no cloud account needed.

A replay upstream on loopback serves recorded answers for a handful of jobs; each
is polled through the real stack (gateway event -> HTTP API handler -> signed HTTP
call -> validation -> normalisation -> snapshot store), built by the composition
root, and summarised in a table. Then discovery: the replay also serves the job list
(two jobs a page, whatever `limit` asks), and a scheduled tick whose one entry is
`{"project_id": P, "discover": true}` polls every real-time job it lists.

It needs no checkout: the recorded answers ship in the package (devtools/recorded),
the snapshots go where the user is (./snapshots), and the commands it suggests next
are the one the user ran.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NamedTuple, TextIO, cast
from urllib.parse import quote

from dlf_status import bootstrap
from dlf_status.config import Settings
from dlf_status.devtools.replay import ListedReplayJob, ReplayJob, ReplayUpstream
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import UpstreamCall, UpstreamClient
from dlf_status.domain.ticks import TickReport
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.entrypoints.local_server import gateway_event
from dlf_status.entrypoints.tables import table_lines

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
# Demo-only credentials: the replay upstream checks signatures made with them.
DEMO_AK = "DEMOACCESSKEY"
DEMO_SK = "demo-secret-key-for-the-replay-upstream"
# What the documents name as their upstream (`source.endpoint`), wherever the replay
# listens: the content hash covers the source, so a name that changed with the port
# would make every run after the first a change. `.invalid` never resolves (RFC 6761).
DEMO_ENDPOINT = "http://replay-upstream.invalid"
JOBS: Sequence[ReplayJob] = (
    ReplayJob("orders_stream", "doc-2023-epoch-millis", "healthy"),
    ReplayJob("sms_pipeline", "doc-2019-seven-nodes", "one failing node"),
    ReplayJob("clickstream", "drift-unknown-fields", "drifts from the doc"),
    ReplayJob("orders_v2", "sdk-spellings", "the SDK's spellings"),
    ReplayJob("retired_job", "", "missing upstream"),
)
# The replay's job list: the four real-time jobs it has answers for, and a batch job
# that a discovery of real-time jobs never sees.
_CREATED = 1_732_525_200_000  # 2024-11-25T09:00:00Z
LISTED: Sequence[ListedReplayJob] = (
    ListedReplayJob("clickstream", "REAL_TIME", "NORMAL", _CREATED),
    ListedReplayJob("nightly_export", "BATCH", "NORMAL", _CREATED),
    ListedReplayJob("orders_stream", "REAL_TIME", "NORMAL", _CREATED),
    ListedReplayJob("orders_v2", "REAL_TIME", "NORMAL", _CREATED),
    ListedReplayJob("sms_pipeline", "REAL_TIME", "EXCEPTION", _CREATED),
)
# Jobs a page of the replay's list holds, whatever `limit` asks: discovery finds out.
LIST_PAGE_LIMIT = 2
DISCOVERY_ENTRY = {"project_id": PROJECT, "discover": True}
# Where the snapshots go: the directory the user runs the demo in (README, Quick start).
DEFAULT_SNAPSHOTS = Path("snapshots")


class _NamedUpstream(NamedTuple):
    """The replay's client, under the demo's stable endpoint name."""

    client: UpstreamClient
    endpoint: str

    def fetch_status(self, job: JobRef) -> UpstreamCall:
        return self.client.fetch_status(job)


def _nodes(document: StatusDocument) -> str:
    summary = document["summary"]
    counts = ", ".join(
        f"{count} {status}" for status, count in summary["nodes_by_status"].items() if count
    )
    return f"{summary['node_count']} ({counts})" if counts else str(summary["node_count"])


def _validation(document: StatusDocument) -> str:
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
    document = cast("StatusDocument", body)
    return [
        job.job_name,
        job.description,
        "200",
        document["job"]["status"],
        _nodes(document),
        _validation(document),
        answer["headers"]["X-Dlf-Snapshot"],
    ]


def _table(rows: list[list[str]]) -> str:
    header = ["JOB", "CASE", "HTTP", "STATUS", "NODES", "VALIDATION", "SNAPSHOT"]
    return "\n".join(table_lines(header, rows))


def _discovery_text(report: TickReport) -> str:
    lines = []
    for found in report.discoveries:
        said = (
            f"{found.jobs} real-time job(s) found in {found.requests} list request(s)"
            if found.ok
            else f"failed ({found.error}: {found.detail})"
        )
        lines.append(f"discovery of {found.describe()}: {said}")
    rows = [
        [outcome.job_name or "-", outcome.result, outcome.status or "-", outcome.snapshot or "-"]
        for outcome in report.outcomes
    ]
    lines += table_lines(["JOB", "RESULT", "STATUS", "SNAPSHOT"], rows)
    return "\n".join(lines)


def run_demo(
    fixtures: Traversable, snapshots: Path, out: TextIO, program: str = "dlf-status"
) -> int:
    """Poll, discover, print; `program` is how the user runs dlf-status (the commands
    suggested at the end name it)."""
    replay_jobs = {job.job_name: job.fixture for job in JOBS if job.fixture}
    with ReplayUpstream(
        fixtures,
        replay_jobs,
        ak=DEMO_AK,
        sk=DEMO_SK,
        listed=LISTED,
        page_limit=LIST_PAGE_LIMIT,
    ) as replay:
        settings = Settings.from_environ(
            {
                "DLF_ENDPOINT": replay.endpoint,
                "DLF_AK": DEMO_AK,
                "DLF_SK": DEMO_SK,
                "SNAPSHOT_URI": str(snapshots),
            }
        )
        client = bootstrap.build_upstream_client(settings)
        upstream = _NamedUpstream(client, DEMO_ENDPOINT)
        service = bootstrap.build_status_service(settings, upstream=upstream)
        api = StatusApi(service.observe)
        rows = []
        for job in JOBS:
            path = f"/v1/{PROJECT}/jobs/{quote(job.job_name, safe='')}/status"
            event = gateway_event("GET", path, {"Accept": "application/json"}, "127.0.0.1")
            rows.append(_row(job, api.handle(event)))
        runner = bootstrap.build_tick_runner(
            settings, service=service, fan_out=False, job_pages=client
        )
        tick = runner.build_tick(None, None, [DISCOVERY_ENTRY])
        report = runner.run(tick)
    example = shlex.quote(
        f"{snapshots}/latest/project_id={PROJECT}/workspace=__HIVE_DEFAULT_PARTITION__/"
        "job_name=sms_pipeline/latest.json"
    )
    store = shlex.quote(str(snapshots))
    again = f"{program} demo" + ("" if snapshots == DEFAULT_SNAPSHOTS else f" --snapshots {store}")
    out.write(
        f"dlf-status demo: {len(JOBS)} jobs polled from a replay upstream at {replay.endpoint}\n"
        f"(named {DEMO_ENDPOINT} in the documents; every request AK/SK-signed and checked\n"
        "by the replay upstream)\n\n"
        f"{_table(rows)}\n\n"
        "Discovery: a scheduled tick whose job list is one entry,\n"
        f"  {json.dumps(DISCOVERY_ENTRY)}\n"
        f"polls every real-time job of the replay's job list ({LIST_PAGE_LIMIT} jobs a page, "
        "whatever limit asks):\n\n"
        f"{_discovery_text(report)}\n\n"
        f"Snapshots: {snapshots}/history/... (one object per content change) and "
        f"{snapshots}/latest/... (one per job)\n"
        "Look next:\n"
        f"  python3 -m json.tool {example}\n"
        f"  {again}   # again: the same content, so SNAPSHOT says 'unchanged'\n"
        f"  SNAPSHOT_URI={store} {program} drift   # unknown fields, statuses\n"
        f"  SNAPSHOT_URI={store} {program} fleet {PROJECT}   # from the store\n"
        f"  {program} serve   # the HTTP API on 127.0.0.1:8080 (configure: see the README)\n"
    )
    return 0 if report.all_succeeded else 1
