"""An object the store lists but fails to return (a bucket policy that denies one
prefix, an object archived by a lifecycle rule) is counted in the drift report, which
goes on over the others; the command prints the report and exits 5, naming why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlf_status import bootstrap
from dlf_status.domain.ports import ObjectStore, StoredObject
from dlf_status.drift import DriftReader
from dlf_status.entrypoints.cli import main
from dlf_status.errors import StoreError
from tests.integration.test_drift_report import ORDERS, build_fleet, entries
from tests.support.store_in_front import StoreInFront

REFUSAL = "cannot read the object: AccessDenied (a fake policy of the test)"


class RefusingSome(StoreInFront):
    """The store, failing every GET of a key that contains `refused`."""

    def __init__(self, store: ObjectStore, refused: str) -> None:
        super().__init__(store)
        self.refused = refused
        self.refusals = 0

    def get(self, key: str) -> StoredObject | None:
        if self.refused in key:
            self.refusals += 1
            raise StoreError(REFUSAL)
        return self.store.get(key)


def test_objects_the_store_refuses_are_counted_and_the_others_read(store: ObjectStore) -> None:
    build_fleet(store)
    whole = DriftReader(store).report()
    refusing = RefusingSome(store, f"job_name={ORDERS.job_name}/")

    reader = DriftReader(refusing)
    report = reader.report()

    assert refusing.refusals > 0
    assert report["skipped"]["not_returned"] == refusing.refusals
    assert reader.first_read_error == REFUSAL
    assert whole["skipped"]["not_returned"] == 0
    # Every job but the refused one is read as in the whole report.
    assert report["jobs_read"] == whole["jobs_read"] - 1
    assert "$.jobId" in entries(report)  # another job's drift
    assert "$.labels" in entries(whole)


def test_the_command_prints_the_report_and_exits_5_naming_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dlf_status.adapters.store_local import LocalDirectoryStore

    local = LocalDirectoryStore(tmp_path / "store")
    build_fleet(local)
    monkeypatch.setenv("SNAPSHOT_URI", str(tmp_path / "store"))
    monkeypatch.setattr(
        bootstrap,
        "build_drift_reader",
        lambda settings: DriftReader(RefusingSome(local, f"job_name={ORDERS.job_name}/")),
    )

    code = main(["drift", "--json"])

    out, err = capsys.readouterr()
    assert code == 5
    report = json.loads(out)
    assert report["skipped"]["not_returned"] > 0
    assert report["documents_read"] > 0
    last = err.splitlines()[-1]
    assert last.startswith("dlf-status: the store failed to return ")
    assert REFUSAL in last
    assert "Traceback" not in err
