"""One writer process of the concurrency test: gateway requests and scheduled ticks,
from several threads, on the same jobs, into the same SeaweedFS prefix.

    python -m tests.concurrency.writer_process ENDPOINT BUCKET PREFIX WRITER WRITERS ROUNDS

The upstream is a fake that hands out a unique observation id in every body (so every
observation is new content), the clock a sequence unique across writers. Prints one
JSON line: the ids handed out and the failures seen.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from dlf_status import bootstrap
from dlf_status.adapters.store_s3 import S3Store, make_s3_client
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.model import Headers, JobRef, UpstreamResponse
from dlf_status.domain.ports import UpstreamCall
from dlf_status.entrypoints import schedule
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.observability import logger
from tests.support.events import http_api_event
from tests.support.root import root_settings
from tests.support.seaweed import PATIENT_STORE_SECONDS

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
JOBS = ("shared-a", "shared-b", "shared-c")
STATUSES = ("NORMAL", "EXCEPTION", "STOPPED", "STARTING")
BASE = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class SequenceClock:
    """Times unique across writers: writer w's n-th reading is BASE + (n * writers + w) ms."""

    def __init__(self, writer: int, writers: int) -> None:
        self._writer, self._writers, self._count = writer, writers, 0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            self._count += 1
            step = self._count * self._writers + self._writer
        return BASE + timedelta(milliseconds=step)


class UniqueUpstream:
    endpoint = "https://dayu-dlf.cn-north-4.myhuaweicloud.com"

    def __init__(self) -> None:
        self.handed_out: list[str] = []
        self._lock = threading.Lock()

    def fetch_status(self, job: JobRef) -> UpstreamCall:
        observation = uuid.uuid4().hex
        with self._lock:
            self.handed_out.append(observation)
            status = STATUSES[len(self.handed_out) % len(STATUSES)]
        body = {"name": job.job_name, "status": status, "observation": observation}
        response = UpstreamResponse(
            200, Headers({"Content-Type": "application/json"}), jsoncodec.canonical_bytes(body)
        )
        return UpstreamCall(response, attempts=1, elapsed_seconds=0.0)


class AcceptAll:
    def validate(self, response: UpstreamResponse, body: Any) -> ValidationReport:
        return ValidationReport()


def main(endpoint: str, bucket: str, prefix: str, writer: int, writers: int, rounds: int) -> None:
    logger.setLevel("CRITICAL")
    upstream = UniqueUpstream()
    store = S3Store(
        make_s3_client(endpoint, pool_size=8, call_seconds=PATIENT_STORE_SECONDS), bucket, prefix
    )
    settings = root_settings(POLL_CONCURRENCY="3")
    service = bootstrap.build_status_service(
        settings,
        upstream=upstream,
        store=store,
        validator=AcceptAll(),
        clock=SequenceClock(writer, writers),
    )
    api = StatusApi(service.observe)
    runner = bootstrap.build_tick_runner(settings, service=service, fan_out=False)
    failures: list[str] = []
    lock = threading.Lock()

    def gateway(thread: int) -> None:
        for round_ in range(rounds):
            answer = api.handle(http_api_event(PROJECT, JOBS[(round_ + thread + writer) % 3]))
            if answer["statusCode"] != 200 or answer["headers"]["X-Dlf-Snapshot"] == "failed":
                with lock:
                    failures.append(answer["body"][:200])

    def ticks() -> None:
        for round_ in range(rounds):
            scheduled = BASE + timedelta(minutes=round_, seconds=writer)
            report = schedule.run_tick(
                runner,
                {
                    "jobs": [{"project_id": PROJECT, "job_name": name} for name in JOBS],
                    "tick_id": f"w{writer}-r{round_}",
                    "scheduled_time": scheduled.isoformat(),
                },
            )
            with lock:
                failures.extend(json.dumps(o) for o in report["outcomes"] if o["result"] != "ok")

    threads = [threading.Thread(target=gateway, args=(index,)) for index in range(3)]
    threads.append(threading.Thread(target=ticks))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"handed_out": upstream.handed_out, "failures": failures}))


if __name__ == "__main__":
    endpoint, bucket, prefix, writer, writers, rounds = sys.argv[1:7]
    main(endpoint, bucket, prefix, int(writer), int(writers), int(rounds))
