"""Upgrading on SeaweedFS, through scheduled ticks: a job named beyond ASCII whose
latest.json an earlier release wrote under its percent-encoded key. The first tick
writes the new key with the transition from the old one (one GET, because the tick's
listing shows the old key), the next tick costs no store call per job, and the fleet
has one row per job (README "Upgrading")."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status.adapters.store_s3 import S3Store
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import StoredObject
from dlf_status.domain.snapshots import moved_latest_key
from dlf_status.entrypoints import schedule
from dlf_status.readers import StoreReader
from tests.integration.conftest import PROJECT, exchange_response, stored_keys
from tests.integration.test_tick_freshness import CountingStore, runner_for
from tests.support.documents import status_document

pytestmark = pytest.mark.integration

MOVED = "作业-实时"  # its old key: job_name=%E4%BD%9C%E4%B8%9A-%E5%AE%9E%E6%97%B6
NEW = "新作业"  # never written by an earlier release
NAMES = [MOVED, NEW, "ascii-job"]
EARLIER = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


class ReadsRecorded(CountingStore):
    def __init__(self, store: S3Store) -> None:
        super().__init__(store)
        self.read: list[str] = []

    def get(self, key: str) -> StoredObject | None:
        self.read.append(key)
        return super().get(key)


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def answer(request: Request) -> Response:
    response = exchange_response("doc-2019-seven-nodes")
    body = jsoncodec.loads(response.get_data())
    body["name"] = unquote(request.path.split("/")[4])
    body["status"] = "EXCEPTION" if body["name"] == MOVED else "RUNNING"
    response.set_data(jsoncodec.canonical_bytes(body))
    return response


def tick(runner: Any, tick_id: str) -> dict[str, Any]:
    event = {"jobs": [{"project_id": PROJECT, "job_name": name} for name in NAMES]}
    report: dict[str, Any] = schedule.run_tick(runner, {**event, "tick_id": tick_id})
    return report


def test_a_moved_job_keeps_its_transitions_and_one_fleet_row_at_no_cost_per_tick(
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    s3_store: S3Store,
    validator: ResponseValidator,
) -> None:
    upstream.expect_request(re.compile(r"^/v1/.*/status$")).respond_with_handler(answer)
    moved = JobRef.parse(PROJECT, MOVED)
    old_key = moved_latest_key(moved)
    assert old_key is not None
    assert "%E4%BD%9C" in old_key
    earlier = status_document(moved, "NORMAL", EARLIER)
    assert s3_store.replace(old_key, jsoncodec.canonical_bytes(earlier), {}, None)
    counting = ReadsRecorded(s3_store)
    runner = runner_for(make_client, counting, validator)

    first = tick(runner, "first")
    first_calls = counting.take()
    second = tick(runner, "second")
    second_calls = counting.take()

    assert [outcome["result"] for outcome in first["outcomes"]] == ["ok"] * 3
    # The old key is read once (the listing shows it); the new job costs no GET.
    assert first_calls["get"] == 1
    assert counting.read == [old_key]
    assert second_calls == Counter({"list": 1, "create freshness": 1})
    assert {outcome["snapshot"] for outcome in second["outcomes"]} == {"confirmed"}
    transitions = [key for key in stored_keys(s3_store) if key.startswith("transitions/")]
    [record_key] = transitions
    assert f"job_name={MOVED}/" in record_key
    stored = s3_store.get(record_key)
    assert stored is not None
    record = jsoncodec.loads(stored.body)
    assert record["previous_observed_at"] == "2026-11-01T08:00:00.000Z"
    assert ("NORMAL", "EXCEPTION") in [(c["from"], c["to"]) for c in record["changes"]]
    assert s3_store.get(old_key) is not None  # nothing moved or deleted

    fleet = StoreReader(s3_store, Clock()).fleet(PROJECT)

    assert sorted(row["job_name"] for row in fleet["jobs"]) == sorted(NAMES)
    assert fleet["summary"]["job_count"] == 3
    assert {row["job_name"]: row["status"] for row in fleet["jobs"]}[MOVED] == "EXCEPTION"
