"""The drift report reads the status documents of its own schema's major version only:
a newer release's document (its fields may mean what this release does not know) is
counted as not read, never tallied as drift, and counted once per observation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dlf_status.domain.drift import DriftTally, JobName, observe, skipped_words

JOB = JobName(project_id="p", workspace=None, job_name="a")
OBSERVED = "2026-11-01T00:00:00.000Z"
READABLE = st.from_regex(r"1\.[0-9]{1,3}", fullmatch=True)
OTHER = st.one_of(
    st.from_regex(r"[2-9]\.[0-9]{1,3}", fullmatch=True),
    st.text(max_size=8).filter(lambda text: not (text[:2] == "1." and text[2:].isdigit())),
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.just("1.0"), max_size=2),
)


def document(version: Any, unknown: str) -> dict[str, Any]:
    return {
        "schema_version": version,
        "observed_at": OBSERVED,
        "job": {"status_raw": "INIT"},
        "nodes": [],
        "validation": {"unknown_fields": [unknown]},
    }


def report_of(*documents: Any) -> Any:
    tally = DriftTally()
    drift = tally.job()
    for each in documents:
        drift.add(observe(JOB, each))
    tally.add_job(drift)
    return tally.report()


@given(version=OTHER)
def test_a_document_of_another_schema_version_is_counted_not_read(version: Any) -> None:
    report = report_of(document(version, "$.future"))

    assert report["documents_read"] == 0
    assert report["unknown_fields"] == []
    assert report["statuses"] == []
    assert report["skipped"]["other_schema_versions"] == 1
    assert "status documents of a schema version" in " ".join(skipped_words(report["skipped"]))


@given(version=READABLE)
def test_a_document_of_any_1_x_version_is_read(version: str) -> None:
    report = report_of(document(version, "$.x"))

    assert report["documents_read"] == 1
    assert [entry["value"] for entry in report["unknown_fields"]] == ["$.x"]
    assert report["skipped"]["other_schema_versions"] == 0


def test_the_command_counts_a_newer_latest_json_once_beside_its_history(tmp_path: Path) -> None:
    job = "project_id=p/workspace=_/job_name=a"
    newer = json.dumps(document("2.0", "$.future")).encode()
    older = json.dumps({**document("1.1", "$.x"), "observed_at": "2026-10-31T00:00:00.000Z"})
    for key, body in [
        (f"latest/{job}/latest.json", newer),
        (f"history/{job}/date=2026-11-01/20261101T000000000Z.json", newer),
        (f"history/{job}/date=2026-10-31/20261031T000000000Z.json", older.encode()),
    ]:
        path = tmp_path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    environment = {"PATH": os.environ.get("PATH", ""), "SNAPSHOT_URI": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "dlf_status.entrypoints.cli", "drift", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["schema_version"] == "1.1"
    assert report["documents_read"] == 1
    assert [entry["value"] for entry in report["unknown_fields"]] == ["$.x"]
    assert report["skipped"]["other_schema_versions"] == 1
    assert "1 status documents of a schema version" in done.stderr
