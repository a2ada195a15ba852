"""`dlf-status fleet` and `history` over a local store the real writer filled: the
tables, --json, --fail-on's exit code, paging, and refusals in one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain.model import JobRef
from dlf_status.entrypoints.cli import main
from dlf_status.service import SnapshotWriter
from tests.support.read_models import assert_valid, observe

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"


@pytest.fixture
def snapshots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Jobs observed a minute ago (one with a transition) and one two hours ago, in a
    store the CLI reads from SNAPSHOT_URI, with no upstream configured at all."""
    store = LocalDirectoryStore(tmp_path)
    writer = SnapshotWriter(store)
    now = datetime.now(UTC)
    for minutes, status in ((5, "NORMAL"), (3, "EXCEPTION"), (1, "EXCEPTION")):
        job = JobRef.parse(PROJECT, "sms/pipeline")
        observe(store, job, status, now - timedelta(minutes=minutes), {"n1": status}, writer)
    observe(
        store, JobRef.parse(PROJECT, "orders"), "NORMAL", now - timedelta(minutes=1), None, writer
    )
    observe(store, JobRef.parse(PROJECT, "old"), "STOPPED", now - timedelta(hours=2), None, writer)
    observe(store, JobRef.parse(PROJECT, "elsewhere", "ws1"), "NORMAL", now, None, writer)
    for name in ("DLF_ENDPOINT", "DLF_REGION", "DLF_AK", "DLF_SK", "DLF_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SNAPSHOT_URI", str(tmp_path))
    return tmp_path


def test_fleet_prints_a_summary_line_and_a_row_per_job(
    snapshots: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["fleet", PROJECT])

    out, err = capsys.readouterr()
    summary, header, *rows = out.splitlines()
    assert code == 0
    assert err == ""
    assert summary.startswith(f"fleet of project {PROJECT} (no workspace): 3 jobs, overall ")
    assert "overall EXCEPTION (1 EXCEPTION, 1 STOPPED, 1 NORMAL); 1 stale" in summary
    assert header.split() == ["JOB", "STATUS", "NODES", "AGE", "STALE", "VALIDATION", "ERROR"]
    assert [row.split()[:2] for row in rows] == [
        ["old", "STOPPED"],
        ["orders", "NORMAL"],
        ["sms/pipeline", "EXCEPTION"],
    ]
    assert "1 (1 EXCEPTION)" in rows[2]
    assert rows[0].split()[3:5] == ["2h", "stale"]


def test_fleet_fail_on_exits_1_when_a_job_is_in_one_of_the_statuses(
    snapshots: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = main(["fleet", PROJECT, "--fail-on", "exception"])
    failing_out = capsys.readouterr().out
    passing = main(["fleet", PROJECT, "--fail-on", "UNKNOWN,STOPPING"])
    capsys.readouterr()
    stale = main(["fleet", PROJECT, "--fail-on", "STALE", "--status", "NORMAL"])
    stale_out = capsys.readouterr().out

    assert (failing, passing, stale) == (1, 0, 1)
    assert failing_out.splitlines()[0].endswith("fail-on EXCEPTION: FAILING")
    assert [row.split()[0] for row in stale_out.splitlines()[2:]] == ["orders"]


def test_fleet_json_is_the_fleet_document(
    snapshots: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["fleet", PROJECT, "--workspace", "ws1", "--json"])

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert_valid(document, "fleet.v1.schema.json")
    assert (document["workspace"], [row["job_name"] for row in document["jobs"]]) == (
        "ws1",
        ["elsewhere"],
    )


def test_history_prints_documents_newest_first_and_transitions_oldest_first(
    snapshots: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", PROJECT, "sms/pipeline"]) == 0
    history = capsys.readouterr().out.splitlines()
    assert main(["history", PROJECT, "sms/pipeline", "--transitions"]) == 0
    transitions = capsys.readouterr().out.splitlines()

    # Two documents: the third observation had the same content as the second.
    assert "2 documents, newest first" in history[0]
    assert [line.split()[1] for line in history[2:]] == ["EXCEPTION", "NORMAL"]
    assert "1 records, oldest first" in transitions[0]
    assert [line.split()[1:3] for line in transitions[2:]] == [["job", "-"], ["node", "n1"]]
    assert all("NORMAL (NORMAL)" in line for line in transitions[2:])
    assert all("EXCEPTION (EXCEPTION)" in line for line in transitions[2:])


def test_history_follows_pages_up_to_the_limit_and_json_is_the_page_document(
    snapshots: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", PROJECT, "sms/pipeline", "--limit", "1", "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(["history", PROJECT, "sms/pipeline", "--transitions", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)

    assert_valid(one, "history-page.v1.schema.json")
    assert_valid(records, "transitions-page.v1.schema.json")
    assert [d["job"]["status"] for d in one["documents"]] == ["EXCEPTION"]
    assert one["next_cursor"] is not None  # there is more before it
    assert [r["changes"][0]["to"] for r in records["records"]] == ["EXCEPTION"]


def test_history_bounds_select_documents_and_records(
    snapshots: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    until = (datetime.now(UTC) - timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    assert main(["history", PROJECT, "sms/pipeline", "--until", until]) == 0
    before = capsys.readouterr().out.splitlines()
    assert main(["history", PROJECT, "sms/pipeline", "--transitions", "--until", until]) == 0
    no_records = capsys.readouterr().out.splitlines()
    assert main(["history", PROJECT, "sms/pipeline", "--transitions", "--since", until]) == 0
    after = capsys.readouterr().out.splitlines()

    assert [line.split()[1] for line in before[2:]] == ["NORMAL"]
    assert "0 records" in no_records[0]
    assert len(after) == 4  # the record's two changes


def exit_code(arguments: list[str]) -> int:
    """main's exit code, whether it returns it or argparse exits with it."""
    try:
        return main(arguments)
    except SystemExit as exited:
        return int(str(exited.code))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["fleet", "../x"], "project_id"),
        (["fleet", PROJECT, "--status", "RUNNING"], "'RUNNING'"),
        (["fleet", PROJECT, "--fail-on", "\u017ftopped"], "--fail-on"),
        (["history", PROJECT, ".."], "job_name"),
        (["history", PROJECT, "j", "--since", "yesterday"], "--since must be an RFC 3339"),
        (["history", PROJECT, "j", "--limit", "0"], "--limit: must be a whole number"),
        (["history", PROJECT, "j", "--since", ""], "--since is empty"),
        (["history", PROJECT, "j", "--until", "", "--transitions"], "--until is empty"),
        (["history", PROJECT, "j", "--since", "2026-11-25T08:00:60Z"], "not a time that exists"),
        (["history", PROJECT, "j", "--limit", "\u0663"], "--limit: must be a whole number"),
        (["history", PROJECT, "j", "--limit", "99999999999999999999"], "--limit: must be"),
        (["fleet", PROJECT, "--status", "A" * 300], "--status must be a comma-separated"),
        (["history", PROJECT, "j", "--workspace", "w\x1b[31m"], "workspace must be"),
        (
            [
                "history",
                PROJECT,
                "j",
                "--since",
                "2026-01-02T00:00:00Z",
                "--until",
                "2026-01-01T00:00:00Z",
            ],
            "--since must be earlier than --until",
        ),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    arguments: list[str], message: str, snapshots: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = exit_code(arguments)

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
