"""`dlf-status drift` over a store the suite builds as the service does (SeaweedFS
through the S3 adapter, and the local directory store): every unknown field and
every status outside the documented five, with when, how many jobs and documents,
and an example; `--since`; listings read page by page; and a store holding what no
writer of ours would write (huge, deep, not JSON, a million unknown fields, keys of
other tools) gives a report, within bounds, never an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dlf_status import bootstrap
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.adapters.store_s3 import S3Store
from dlf_status.domain.documents import DocumentSource
from dlf_status.domain.drift import MAX_FINDINGS_PER_DOCUMENT, DriftReport
from dlf_status.domain.jsoncodec import STORED
from dlf_status.domain.model import Headers, JobRef, UpstreamResponse
from dlf_status.domain.normalize import Source, normalise
from dlf_status.domain.ports import ObjectListing, ObjectStore
from dlf_status.domain.snapshots import history_key
from dlf_status.drift import DriftReader
from dlf_status.entrypoints.cli import main
from dlf_status.service import SnapshotWriter
from tests.integration.conftest import PROJECT
from tests.support.read_models import assert_valid
from tests.support.seaweed import (
    ACCESS_KEY,
    PATIENT_STORE_SECONDS,
    REGION,
    SECRET_KEY,
    SeaweedServer,
)
from tests.support.store_in_front import StoreInFront

pytestmark = pytest.mark.integration

ENDPOINT = "https://dayu-dlf.cn-north-4.myhuaweicloud.com"
VALIDATOR = bootstrap.build_validator()
ORDERS = JobRef.parse(PROJECT, "orders")
# Sorts before "orders/" as bytes and after it as a directory name: the two orders
# stores list in (SeaweedFS lists a directory's names in order).
ORDERS_V2 = JobRef.parse(PROJECT, "orders-v2")
CLEAN = JobRef.parse(PROJECT, "clean", "ws-1")
RETIRED = JobRef.parse(PROJECT, "retired")


def day(number: int, hour: int = 8) -> datetime:
    return datetime(2026, 11, number, hour, tzinfo=UTC)


def spelt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def observe(store: ObjectStore, job: JobRef, body: Mapping[str, Any], at: datetime) -> None:
    """What the service stores for this answer: validated, normalised, written."""
    raw = json.dumps(body).encode()
    report = VALIDATOR.validate(
        UpstreamResponse(200, Headers({"Content-Type": "application/json"}), raw), dict(body)
    )
    source = Source(job.project_id, job.job_name, job.workspace, ENDPOINT)
    document = normalise(dict(body), source=source, observed_at=at, report=report)
    SnapshotWriter(store, sleep=lambda _: None).write(job, document, at)


def build_fleet(store: ObjectStore) -> None:
    drifting: dict[str, Any] = {"name": "orders", "status": "INIT", "labels": {}}
    drifting["nodes"] = [{"name": "n", "status": "PAUSE"}]
    observe(store, ORDERS, {"name": "orders", "status": "NORMAL", "labels": {"t": 1}}, day(1))
    observe(store, ORDERS, drifting, day(2))
    observe(store, ORDERS, drifting, day(5))  # unchanged: latest.json only
    observe(store, ORDERS_V2, {"name": "orders-v2", "status": "DEGRADED", "labels": 1}, day(3))
    observe(store, CLEAN, {"name": "clean", "status": "NORMAL"}, day(1))
    observe(store, RETIRED, {"name": "retired", "status": "STOPPED", "jobId": 9}, day(1))
    source: DocumentSource = {
        "project_id": PROJECT,
        "workspace": None,
        "job_name": "retired",
        "endpoint": ENDPOINT,
    }
    SnapshotWriter(store, sleep=lambda _: None).write_gone(
        RETIRED, source, spelt(day(4)), {"error_code": "DLF.0100", "error_msg": "gone"}
    )


class SmallPages(StoreInFront):
    """The store, listing at most three keys a call: every listing is read by pages."""

    def __init__(self, store: ObjectStore) -> None:
        super().__init__(store)
        self.listing_calls = 0

    def list_objects(
        self, prefix: str, *, start_after: str = "", limit: int = 1000
    ) -> ObjectListing:
        self.listing_calls += 1
        return self.store.list_objects(prefix, start_after=start_after, limit=min(limit, 3))


def entries(report: DriftReport) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in report["unknown_fields"]:
        found[entry["value"]] = dict(entry)
    for status in report["statuses"]:
        found[f"{status['scope']}:{status['value']}"] = dict(status)
    return found


def test_every_unknown_field_and_unlisted_status_with_when_where_and_how_often(
    store: ObjectStore,
) -> None:
    build_fleet(store)
    paged = SmallPages(store)

    report = DriftReader(paged).report()

    assert_valid(report, "drift-report.v1.schema.json")
    found = entries(report)
    assert sorted(found) == ["$.jobId", "$.labels", "job:DEGRADED", "job:INIT", "node:PAUSE"]
    labels = found["$.labels"]
    # orders: its day 1 and day 2 contents and the day 5 observation in latest.json;
    # orders-v2: its one observation (latest.json the same one again).
    assert (labels["first_seen"], labels["last_seen"]) == (spelt(day(1)), spelt(day(5)))
    assert (labels["jobs"], labels["documents"]) == (2, 4)
    assert labels["example_job"]["job_name"] in ("orders", "orders-v2")
    init = found["job:INIT"]
    assert (init["folded_to"], init["jobs"], init["documents"]) == ("STARTING", 1, 2)
    assert (init["first_seen"], init["last_seen"]) == (spelt(day(2)), spelt(day(5)))
    assert init["example_job"] == {"project_id": PROJECT, "workspace": None, "job_name": "orders"}
    assert found["node:PAUSE"]["folded_to"] == "STOPPED"
    degraded = found["job:DEGRADED"]
    assert (degraded["folded_to"], degraded["jobs"], degraded["documents"]) == ("UNKNOWN", 1, 1)
    assert degraded["example_job"] == {
        "project_id": PROJECT,
        "workspace": None,
        "job_name": "orders-v2",
    }
    assert (found["$.jobId"]["jobs"], found["$.jobId"]["last_seen"]) == (1, spelt(day(1)))
    # orders 3, orders-v2 1, clean 1, retired 1 (its latest.json is a gone document).
    assert (report["documents_read"], report["jobs_read"]) == (6, 4)
    assert report["skipped"]["not_status_documents"] == 1
    assert report["summary"].startswith("2 unknown field(s) and 3 status(es) outside")
    assert paged.listing_calls > 4  # the latest/ listing alone takes two pages


def test_since_skips_older_days_and_older_observations(store: ObjectStore) -> None:
    build_fleet(store)

    report = DriftReader(store).report(date(2026, 11, 3))

    assert_valid(report, "drift-report.v1.schema.json")
    found = entries(report)
    assert sorted(found) == ["$.labels", "job:DEGRADED", "job:INIT", "node:PAUSE"]
    assert found["$.labels"]["first_seen"] == spelt(day(3))
    assert (found["$.labels"]["jobs"], found["$.labels"]["documents"]) == (2, 2)
    assert found["job:INIT"]["documents"] == 1  # only latest.json's day 5
    assert report["since"] == "2026-11-03"


LIMIT = 1 << 20


def test_a_hostile_store_gives_a_bounded_report_and_says_what_it_skipped(
    store: ObjectStore,
) -> None:
    build_fleet(store)
    job = JobRef.parse(PROJECT, "hostile")
    observe(store, job, {"name": "hostile", "status": "NORMAL"}, day(1))
    deep = b"[" * (STORED.depth + 10) + b"]" * (STORED.depth + 10)
    many = [f"$.field{index}" for index in range(MAX_FINDINGS_PER_DOCUMENT * 3)]
    flood = {
        "observed_at": spelt(day(2)),
        "job": {"status_raw": "X" * 100_000},
        "nodes": "not a list",
        "validation": {"unknown_fields": ["$." + "k" * 50_000, 7, None, *many]},
    }
    assert len(json.dumps(flood)) < LIMIT
    odd: dict[str, bytes] = {
        history_key(job, day(2), "0" * 64): json.dumps(flood).encode(),
        history_key(job, day(3), "1" * 64): deep,
        history_key(job, day(3, 9), "2" * 64): b"{not json",
        history_key(job, day(3, 10), "3" * 64): b" " * (LIMIT + 1),  # past the reader's size bound
        history_key(job, day(3, 11), "4" * 64): json.dumps({"observed_at": 5}).encode(),
        # A newer release's document: its fields may mean something else.
        history_key(job, day(3, 12), "5" * 64): json.dumps(
            {**flood, "schema_version": "2.0", "validation": {"unknown_fields": ["$.v2"]}}
        ).encode(),
        # Names that are not ours beside ours: not read, not counted.
        f"history/project_id={PROJECT}/workspace=w/job_name=hostile/notes.txt": b"x",
        "latest/stray.json": b"{}",
    }
    for key, body in odd.items():
        assert store.create(key, body, {})

    report = DriftReader(store, max_document_bytes=LIMIT, max_findings=500).report()

    assert_valid(report, "drift-report.v1.schema.json")
    assert report["skipped"] == {
        "too_large": 1,
        "unreadable": 2,
        "not_status_documents": 2,  # observed_at 5, and the gone job
        "before_since": 0,
        "other_schema_versions": 1,
        "not_returned": 0,
    }
    assert report["findings_cut_in_documents"] == 1
    values = [entry["value"] for entry in report["unknown_fields"]]
    assert len(values) + len(report["statuses"]) <= 500
    assert report["findings_not_kept"] > 0
    assert all(len(value) < 400 for value in values)
    assert "$.v2" not in values
    assert any(value.startswith("$.kkk") and "sha256" in value for value in values)
    (flooded,) = [entry for entry in report["statuses"] if entry["value"].startswith("XXX")]
    assert flooded["folded_to"] == "UNKNOWN"
    assert len(flooded["value"]) < 400
    assert report["documents_read"] == 6 + 2  # the fleet's, the hostile job's two


def test_the_command_prints_the_summary_first_and_json_on_demand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_fleet(LocalDirectoryStore(tmp_path / "store"))
    monkeypatch.setenv("SNAPSHOT_URI", str(tmp_path / "store"))
    monkeypatch.setenv("DLF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("DLF_AUTH_TOKEN", "fake-token-for-the-tests")

    code = main(["drift"])
    out, err = capsys.readouterr()
    as_json = main(["drift", "--json", "--since", "2026-11-03"])
    data = json.loads(capsys.readouterr().out)

    assert code == as_json == 0
    lines = out.splitlines()
    assert lines[0].startswith("2 unknown field(s) and 3 status(es) outside the documented five")
    assert lines[0].endswith("in 6 document(s) of 4 job(s)")
    assert any(line.startswith("$.labels ") and f"{PROJECT}/-/orders" in line for line in lines)
    assert any(line.startswith("DEGRADED ") and " UNKNOWN " in line for line in lines)
    assert err == (
        f"dlf-status: read 6 document(s) of 4 job(s) from {tmp_path / 'store'}; "
        "not counted: 1 not status documents (gone jobs among them)\n"
    )
    assert data["kind"] == "drift-report"
    assert data["since"] == "2026-11-03"
    assert data["summary"].endswith("observed since 2026-11-03")


def test_the_command_needs_no_upstream_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like `fleet` and `history`, `drift` reads the store only."""
    build_fleet(LocalDirectoryStore(tmp_path / "store"))
    monkeypatch.setenv("SNAPSHOT_URI", str(tmp_path / "store"))
    for name in ("DLF_ENDPOINT", "DLF_REGION", "DLF_AK", "DLF_SK", "DLF_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    code = main(["drift"])

    assert code == 0
    assert capsys.readouterr().out.startswith("2 unknown field(s) and 3 status(es)")


@pytest.mark.parametrize("since", ["2026-13-01", "2026-11-1", "yesterday", "２０２６-11-01"])  # noqa: RUF001
def test_a_bad_since_is_one_line_and_exit_2(since: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["drift", "--since", since])

    _, err = capsys.readouterr()
    assert exited.value.code == 2
    assert err.count("\n") == 1
    assert "YYYY-MM-DD" in err


def test_a_store_that_cannot_be_read_is_one_line_and_exit_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "store").write_text("a file where a directory belongs")
    monkeypatch.setenv("SNAPSHOT_URI", str(tmp_path / "store"))
    monkeypatch.setenv("DLF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("DLF_AUTH_TOKEN", "fake-token-for-the-tests")

    code = main(["drift"])

    _, err = capsys.readouterr()
    assert (code, err.count("\n")) == (5, 1)
    assert err.startswith("dlf-status: cannot list ")


def test_a_busy_job_s_history_is_read_page_by_page_each_document_once(
    store: ObjectStore,
) -> None:
    """Many observations of one job: history is listed in pages and each document is
    read once, whatever the page size."""
    job = JobRef.parse(PROJECT, "busy")
    for hour in range(12):
        status = "NORMAL" if hour % 2 else "OVERLOAD"
        observe(store, job, {"name": "busy", "status": status}, day(1) + timedelta(hours=hour))
    paged = SmallPages(store)

    report = DriftReader(paged, workers=2).report()

    (overload,) = report["statuses"]
    assert (overload["value"], overload["documents"], overload["jobs"]) == ("OVERLOAD", 6, 1)
    assert report["documents_read"] == 12


@pytest.mark.parametrize("secret", [SECRET_KEY, "a-wrong-secret-not-real"], ids=["ok", "denied"])
def test_the_command_reads_an_s3_store_as_configured(secret: str, seaweed: SeaweedServer) -> None:
    """In a process of its own: boto3's default session keeps the first credentials
    it read for the life of a process."""
    prefix = f"drift-{uuid.uuid4().hex[:12]}"
    build_fleet(S3Store(seaweed.client(), seaweed.bucket, prefix))
    environment = {
        **os.environ,
        "SNAPSHOT_URI": f"s3://{seaweed.bucket}/{prefix}",
        "STORE_TIMEOUT": str(PATIENT_STORE_SECONDS),
        "AWS_ENDPOINT_URL_S3": seaweed.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": REGION,
        "DLF_ENDPOINT": "http://127.0.0.1:9",
        "DLF_AUTH_TOKEN": "fake-token-for-the-tests",
    }

    result = subprocess.run(
        [sys.executable, "-m", "dlf_status.entrypoints.cli", "drift", "--json"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )

    if secret == SECRET_KEY:
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert (report["documents_read"], report["jobs_read"]) == (6, 4)
        assert sorted(entry["value"] for entry in report["unknown_fields"]) == [
            "$.jobId",
            "$.labels",
        ]
        assert f"from s3://{seaweed.bucket}/{prefix}" in result.stderr
    else:
        assert (result.returncode, result.stdout) == (5, "")
        assert result.stderr.count("\n") == 1
        assert secret not in result.stderr


def test_an_empty_store_is_a_report_of_nothing_that_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SNAPSHOT_URI", str(tmp_path / "never-written"))
    monkeypatch.setenv("DLF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("DLF_AUTH_TOKEN", "fake-token-for-the-tests")

    code = main(["drift"])

    out, err = capsys.readouterr()
    assert (code, out) == (0, "no drift in 0 document(s) of 0 job(s)\n")
    assert err.endswith("; it holds no status document (is SNAPSHOT_URI right?)\n")
