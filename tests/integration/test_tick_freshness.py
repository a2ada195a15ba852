"""A warm tick on SeaweedFS: an unchanged job costs no store call, its freshness is
recorded once per workspace, consumers see it, and none of it hides a change."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status import bootstrap
from dlf_status.adapters.store_s3 import S3Store
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import MAX_LIST_PAGE, ObjectListing, StoredObject
from dlf_status.domain.snapshots import latest_key
from dlf_status.entrypoints import schedule
from dlf_status.errors import StoreError
from dlf_status.poller import TickRunner
from dlf_status.readers import StoreReader
from tests.integration.conftest import PROJECT, exchange_response, stored_keys
from tests.support.read_models import assert_valid
from tests.support.root import root_settings

pytestmark = pytest.mark.integration

NAMES = [f"job-{index:02d}" for index in range(12)]


class CountingStore:
    """The real S3 store, with every call it receives counted by kind."""

    def __init__(self, store: S3Store, refuse: str | None = None) -> None:
        self.store = store
        self.calls: Counter[str] = Counter()
        self.refuse = refuse  # a key prefix whose writes fail, as a store outage would

    @property
    def location(self) -> str:
        return self.store.location

    def get(self, key: str) -> StoredObject | None:
        self.calls["get"] += 1
        return self.store.get(key)

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        self.calls["create " + key.split("/")[0]] += 1
        if self.refuse and key.startswith(self.refuse):
            raise StoreError(f"cannot write {key}: SlowDown (HTTP 503)")
        return self.store.create(key, body, metadata)

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        self.calls["replace"] += 1
        return self.store.replace(key, body, metadata, expected_version)

    def list_objects(
        self, prefix: str, *, start_after: str = "", limit: int = MAX_LIST_PAGE
    ) -> ObjectListing:
        self.calls["list"] += 1
        return self.store.list_objects(prefix, start_after=start_after, limit=limit)

    def take(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken


def answer_with(statuses: dict[str, str]) -> Callable[[Request], Response]:
    def answer(request: Request) -> Response:
        job_name = request.path.split("/")[4]
        response = exchange_response("doc-2019-seven-nodes")
        body = jsoncodec.loads(response.get_data())
        body["name"] = job_name
        body["status"] = statuses.get(job_name, body["status"])
        response.set_data(jsoncodec.canonical_bytes(body))
        return response

    return answer


def runner_for(
    make_client: Callable[..., HttpUpstreamClient],
    store: CountingStore,
    validator: ResponseValidator,
) -> TickRunner:
    settings = root_settings()
    service = bootstrap.build_status_service(
        settings,
        upstream=make_client(),
        store=store,
        validator=validator,
    )
    return bootstrap.build_tick_runner(settings, service=service)


def tick(runner: TickRunner, tick_id: str) -> dict[str, Any]:
    event = {"jobs": [{"project_id": PROJECT, "job_name": name} for name in NAMES]}
    return schedule.run_tick(runner, {**event, "tick_id": tick_id})


def outcomes(report: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {
        outcome["job_name"]: (outcome["result"], outcome.get("snapshot"))
        for outcome in report["outcomes"]
    }


def latest_body(store: S3Store, name: str) -> dict[str, Any]:
    stored = store.get(latest_key(JobRef.parse(PROJECT, name)))
    assert stored is not None
    loaded: dict[str, Any] = jsoncodec.loads(stored.body)
    return loaded


@pytest.fixture
def counting(s3_store: S3Store) -> CountingStore:
    return CountingStore(s3_store)


def test_a_warm_tick_confirms_unchanged_jobs_in_one_record_and_no_call_per_job(
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    counting: CountingStore,
    s3_store: S3Store,
    validator: ResponseValidator,
) -> None:
    upstream.expect_request(re.compile(r"^/v1/.*/status$")).respond_with_handler(answer_with({}))
    runner = runner_for(make_client, counting, validator)
    first = tick(runner, "first")
    first_calls = counting.take()
    written = {name: latest_body(s3_store, name)["observed_at"] for name in NAMES}

    second = tick(runner, "second")
    second_calls = counting.take()

    assert set(outcomes(first).values()) == {("ok", "changed")}
    # A new prefix: listed once, then history and latest.json created, no GET.
    assert first_calls == Counter({"list": 1, "create history": len(NAMES), "replace": len(NAMES)})
    assert set(outcomes(second).values()) == {("ok", "confirmed")}
    assert second_calls == Counter({"list": 1, "create freshness": 1})
    # latest.json untouched; the record names each job, its version and the new time.
    assert {name: latest_body(s3_store, name)["observed_at"] for name in NAMES} == written
    [record_key] = [key for key in stored_keys(s3_store) if key.startswith("freshness/")]
    assert record_key.startswith(f"freshness/project_id={PROJECT}/workspace=")
    stored = s3_store.get(record_key)
    assert stored is not None
    record = jsoncodec.loads(stored.body)
    assert_valid(record, "status-freshness.v1.schema.json")
    assert record["kind"] == "status-freshness"
    assert record["tick_id"] == "second"
    listed = {
        item.key: item.version
        for item in s3_store.list_objects(f"latest/project_id={PROJECT}/").objects
    }
    for entry in record["jobs"]:
        job = JobRef.parse(PROJECT, entry["job_name"])
        assert entry["latest_version"] == listed[latest_key(job)]
        assert entry["latest_observed_at"] == written[entry["job_name"]]
        assert entry["observed_at"] > written[entry["job_name"]]
    assert sorted(entry["job_name"] for entry in record["jobs"]) == NAMES


def test_consumers_see_a_confirmed_job_as_fresh_as_its_last_tick(
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    counting: CountingStore,
    s3_store: S3Store,
    validator: ResponseValidator,
) -> None:
    upstream.expect_request(re.compile(r"^/v1/.*/status$")).respond_with_handler(answer_with({}))
    runner = runner_for(make_client, counting, validator)
    tick(runner, "first")
    tick(runner, "second")
    [record_key] = [key for key in stored_keys(s3_store) if key.startswith("freshness/")]
    stored = s3_store.get(record_key)
    assert stored is not None
    confirmed = {
        entry["job_name"]: entry["observed_at"] for entry in jsoncodec.loads(stored.body)["jobs"]
    }

    class Now:
        def now(self) -> datetime:
            return datetime.now(UTC) + timedelta(seconds=5)

    fleet = StoreReader(s3_store, Now()).fleet(PROJECT)

    rows = {row["job_name"]: row for row in fleet["jobs"]}
    assert sorted(rows) == NAMES
    for name, row in rows.items():
        assert row["observed_at"] == confirmed[name]
        assert row["observed_at"] > latest_body(s3_store, name)["observed_at"]


def test_a_job_changed_or_replaced_by_another_writer_is_written_not_confirmed(
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    counting: CountingStore,
    s3_store: S3Store,
    validator: ResponseValidator,
) -> None:
    statuses: dict[str, str] = {}
    upstream.expect_request(re.compile(r"^/v1/.*/status$")).respond_with_handler(
        answer_with(statuses)
    )
    runner = runner_for(make_client, counting, validator)
    other = runner_for(make_client, CountingStore(s3_store), validator)  # another container
    tick(runner, "first")
    statuses["job-00"] = "EXCEPTION"  # the job changed
    tick(other, "other")  # every latest.json replaced by another writer
    statuses["job-00"] = "EXCEPTION"
    counting.take()

    report = tick(runner, "third")

    results = outcomes(report)
    # The other writer's versions are not the ones remembered: each job is read and
    # written again (same content: unchanged), none confirmed against a stale version.
    assert results["job-00"] == ("ok", "unchanged")
    assert set(results.values()) == {("ok", "unchanged")}
    calls = counting.take()
    # A GET of each latest.json, and of the transition record job-00's names (published).
    assert calls["get"] == len(NAMES) + 1
    assert calls["replace"] == len(NAMES)
    assert "create freshness" not in calls


def test_a_freshness_record_that_cannot_be_written_fails_its_jobs_and_the_next_tick_writes(
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    s3_store: S3Store,
    validator: ResponseValidator,
) -> None:
    upstream.expect_request(re.compile(r"^/v1/.*/status$")).respond_with_handler(answer_with({}))
    failing = CountingStore(s3_store, refuse="freshness/")
    runner = runner_for(make_client, failing, validator)
    tick(runner, "first")

    second = tick(runner, "second")
    failing.take()
    third = tick(runner, "third")

    # No job lost: each is failed (retryable, a store failure), none reported fresh.
    for outcome in second["outcomes"]:
        assert (outcome["result"], outcome["error"], outcome["retryable"]) == (
            "failed",
            "StoreError",
            True,
        )
        assert "freshness record was not written" in outcome["detail"]
    # Forgotten: the next tick reads and refreshes latest.json instead of confirming.
    assert set(outcomes(third).values()) == {("ok", "unchanged")}
    assert "create freshness" not in failing.take()


def test_a_new_container_confirms_from_the_newest_record_and_reads_only_what_changed(
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    s3_store: S3Store,
    validator: ResponseValidator,
) -> None:
    statuses: dict[str, str] = {}
    upstream.expect_request(re.compile(r"^/v1/.*/status$")).respond_with_handler(
        answer_with(statuses)
    )
    old = runner_for(make_client, CountingStore(s3_store), validator)
    tick(old, "first")
    tick(old, "second")  # confirms every job: the newest record names them all
    statuses["job-03"] = "EXCEPTION"
    new = CountingStore(s3_store)  # a new container: it remembers nothing

    report = tick(runner_for(make_client, new, validator), "third")

    results = outcomes(report)
    assert results.pop("job-03") == ("ok", "changed")
    assert set(results.values()) == {("ok", "confirmed")}
    calls = new.take()
    # latest/ and freshness/ listed once each, the record read once; job-03 read (its
    # statuses make the transition) and written; one new record.
    assert calls == Counter(
        {
            "list": 2,
            "get": 2,
            "create history": 1,
            "create _dlf-status": 1,
            "create transitions": 1,
            "replace": 1,
            "create freshness": 1,
        }
    )
    transitions = [key for key in stored_keys(s3_store) if key.startswith("transitions/")]
    [transition] = transitions
    assert "job_name=job-03" in transition
