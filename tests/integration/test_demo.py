"""`make demo`: the replay upstream and the table, on the real stack."""

from __future__ import annotations

import io
import json
import shlex
import socket
from pathlib import Path

import pytest

from contract_tests.support import FIXTURES
from dlf_status.devtools.replay import ReplayUpstream
from dlf_status.entrypoints.demo import (
    DEMO_AK,
    DEMO_ENDPOINT,
    DEMO_SK,
    JOBS,
    LISTED,
    PROJECT,
    run_demo,
)

pytestmark = pytest.mark.integration


def test_the_demo_polls_every_job_and_writes_snapshots(tmp_path: Path) -> None:
    out = io.StringIO()

    assert run_demo(FIXTURES / "valid", tmp_path / "snapshots", out) == 0

    polled = out.getvalue().split("Discovery: ")[0]
    table = {line.split()[0]: line for line in polled.splitlines() if line.split()}
    assert "200   NORMAL" in table["orders_stream"]
    assert "1 EXCEPTION" in table["sms_pipeline"]
    assert "4 drift field(s)" in table["clickstream"]
    assert "404   job-not-found" in table["retired_job"]
    latest = sorted(path.parent.name for path in (tmp_path / "snapshots").rglob("latest.json"))
    assert latest == sorted(f"job_name={job.job_name}" for job in JOBS if job.fixture)


def test_a_second_demo_run_finds_nothing_changed(tmp_path: Path) -> None:
    run_demo(FIXTURES / "valid", tmp_path / "snapshots", io.StringIO())
    out = io.StringIO()

    run_demo(FIXTURES / "valid", tmp_path / "snapshots", out)

    rows = [line for line in out.getvalue().splitlines() if " 200 " in f" {line} "]
    assert rows
    assert all(row.endswith("unchanged") for row in rows)


def test_the_documents_name_the_replay_upstream_alike_whatever_port_it_listens_on(
    tmp_path: Path,
) -> None:
    """The replay takes any free port; the content hash covers source.endpoint, so the
    documents name the replay by a label that does not change with it."""
    with socket.socket() as taken:  # whichever port the replay gets, it is not this one
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        out = io.StringIO()
        run_demo(FIXTURES / "valid", tmp_path / "snapshots", out)

    documents = [json.loads(path.read_text()) for path in tmp_path.rglob("latest.json")]
    assert documents
    assert {document["source"]["endpoint"] for document in documents} == {DEMO_ENDPOINT}
    assert f"127.0.0.1:{busy}" not in out.getvalue()


def test_the_replay_upstream_refuses_a_wrong_signature() -> None:
    with ReplayUpstream(
        FIXTURES / "valid", {"j": "doc-2024-success"}, ak=DEMO_AK, sk=DEMO_SK
    ) as replay:
        good = replay.answer(f"/v1/{PROJECT}/jobs/j/status", _signed_headers(DEMO_SK))
        bad = replay.answer(f"/v1/{PROJECT}/jobs/j/status", _signed_headers("wrong-secret"))

    assert good[0] == 200
    assert bad[0] == 401


def _signed_headers(
    sk: str, path: str = f"/v1/{PROJECT}/jobs/j/status", query: dict[str, str] | None = None
) -> dict[str, str]:
    from dlf_status.adapters.signing import AkSkAuthenticator
    from dlf_status.config import Credentials

    headers = {"Content-Type": "application/json"}
    AkSkAuthenticator(Credentials(ak=DEMO_AK, sk=sk)).authenticate(
        method="GET",
        host="127.0.0.1",
        path=path,
        headers=headers,
        project_id=PROJECT,
        query=query,
    )
    return headers


def test_the_demo_discovers_every_real_time_job_of_the_replay_list(tmp_path: Path) -> None:
    out = io.StringIO()

    assert run_demo(FIXTURES / "valid", tmp_path / "snapshots", out) == 0

    text = out.getvalue()
    section = text[text.index("Discovery: ") :]
    real_time = sorted(job.name for job in LISTED if job.job_type == "REAL_TIME")
    assert f"{len(real_time)} real-time job(s) found in " in section
    rows = {line.split()[0]: line.split()[1:] for line in section.splitlines() if line.split()}
    for name in real_time:
        assert rows[name][:1] == ["ok"]
    assert not [job.name for job in LISTED if job.job_type != "REAL_TIME" and job.name in rows]


def test_the_replay_pages_its_list_at_its_own_limit_and_checks_the_signed_query() -> None:
    path = f"/v1/{PROJECT}/jobs"
    with ReplayUpstream(
        FIXTURES / "valid", {}, ak=DEMO_AK, sk=DEMO_SK, listed=LISTED, page_limit=2
    ) as replay:
        pages = []
        for offset in ("0", "2", "4"):
            query = {"jobType": "REAL_TIME", "limit": "100", "offset": offset}
            pages.append(replay.answer(path, _signed_headers(DEMO_SK, path, query), query))
        signed = _signed_headers(DEMO_SK, path, {"jobType": "REAL_TIME", "offset": "0"})
        tampered = replay.answer(path, signed, {"jobType": "BATCH", "offset": "0"})

    bodies = [json.loads(body) for status, _, body in pages if status == 200]
    assert len(bodies) == 3
    names = [job["name"] for body in bodies for job in body["jobs"]]
    assert names == sorted(job.name for job in LISTED if job.job_type == "REAL_TIME")
    assert [len(body["jobs"]) for body in bodies] == [2, 2, 0]
    assert tampered[0] == 401


def test_the_commands_the_demo_suggests_run_on_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`Look next` names `drift` and `fleet` with SNAPSHOT_URI alone: they read the store
    only, so they must work with no upstream settings at all."""
    from dlf_status.entrypoints.cli import main

    out = io.StringIO()
    run_demo(FIXTURES / "valid", tmp_path / "snapshots", out)
    suggested = [
        shlex.split(line.split("#")[0])[2:]  # SNAPSHOT_URI=... dlf-status COMMAND ...
        for line in out.getvalue().splitlines()
        if line.lstrip().startswith("SNAPSHOT_URI=")
    ]
    assert [command[0] for command in suggested] == ["drift", "fleet"]
    for name in ("DLF_ENDPOINT", "DLF_REGION", "DLF_AK", "DLF_SK", "DLF_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SNAPSHOT_URI", str(tmp_path / "snapshots"))
    capsys.readouterr()

    codes = [main(command) for command in suggested]

    assert codes == [0, 0]
    printed = capsys.readouterr().out
    assert "4 unknown field(s)" in printed
    assert f"fleet of project {PROJECT}" in printed


def test_the_demo_replays_the_recordings_the_package_ships(tmp_path: Path) -> None:
    """No checkout needed: the default is the package's own copy of the fixtures."""
    from dlf_status.devtools.replay import RECORDED

    out = io.StringIO()

    assert run_demo(RECORDED, tmp_path / "snapshots", out) == 0

    assert "4 drift field(s)" in out.getvalue()


def test_a_demo_where_it_cannot_write_says_so_in_one_line_before_polling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run from a read-only directory, the demo would poll and show every snapshot
    `failed` with no reason; it says where it cannot write and how to choose another
    place instead. (As root, permissions stop nothing: `snapshots` is a file here.)"""
    from dlf_status.entrypoints.cli import main

    (tmp_path / "snapshots").write_text("a file where the directory would go")
    monkeypatch.chdir(tmp_path)

    code = main(["demo"])

    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    [line] = captured.err.splitlines()
    assert line.startswith(
        f"dlf-status: the demo cannot write its snapshots to snapshots ({tmp_path}"
    )
    assert "--snapshots DIR" in line
