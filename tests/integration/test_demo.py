"""`make demo`: the replay upstream and the table, on the real stack."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import pytest

from contract_tests.support import FIXTURES
from dlf_status.devtools.replay import ReplayUpstream
from dlf_status.entrypoints.demo import DEMO_AK, DEMO_ENDPOINT, DEMO_SK, JOBS, PROJECT, run_demo

pytestmark = pytest.mark.integration


def test_the_demo_polls_every_job_and_writes_snapshots(tmp_path: Path) -> None:
    out = io.StringIO()

    assert run_demo(FIXTURES / "valid", tmp_path / "snapshots", out) == 0

    table = {line.split()[0]: line for line in out.getvalue().splitlines() if line.split()}
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


def _signed_headers(sk: str) -> dict[str, str]:
    from dlf_status.adapters.signing import AkSkAuthenticator
    from dlf_status.config import Credentials

    headers = {"Content-Type": "application/json"}
    AkSkAuthenticator(Credentials(ak=DEMO_AK, sk=sk)).authenticate(
        method="GET",
        host="127.0.0.1",
        path=f"/v1/{PROJECT}/jobs/j/status",
        headers=headers,
        project_id=PROJECT,
    )
    return headers
