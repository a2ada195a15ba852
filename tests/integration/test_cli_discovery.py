"""`dlf-status jobs` and `dlf-status poll --discover` as a user runs them, against a
loopback upstream that serves the job list and the status call."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status.domain import jsoncodec
from dlf_status.entrypoints.cli import main
from tests.integration.conftest import PROJECT
from tests.support.job_list_server import JSON, OffsetMeaning, SimulatedJobList

pytestmark = pytest.mark.integration

WORKSPACE = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
_STATUS = re.compile(rf"^/v1/{PROJECT}/jobs/(?P<name>[^/]+)/status$")


class Upstream:
    def __init__(self, listing: SimulatedJobList) -> None:
        self.listing = listing
        self.workspaces: set[str | None] = set()
        self.tags: set[str] = set()
        self.statuses: list[str] = []

    def __call__(self, request: Request) -> Response:
        match = _STATUS.match(request.path)
        if match is None:
            self.workspaces.add(request.headers.get("workspace"))
            self.tags.update(request.args.getlist("tags"))
            return self.listing.werkzeug_handler(request)
        self.statuses.append(match["name"])
        if match["name"] in self.listing.names:
            body = {"name": match["name"], "status": "NORMAL"}
            return Response(jsoncodec.canonical_bytes(body), status=200, headers=JSON)
        body = {"error_code": "DLF.0100", "error_msg": "The job not found"}
        return Response(jsoncodec.canonical_bytes(body), status=400, headers=JSON)


@pytest.fixture
def environment(upstream: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    values = {
        "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
        "DLF_AK": "CLIACCESSKEY",
        "DLF_SK": "cli-sk-not-a-secret",
        "DLF_MAX_ATTEMPTS": "1",
        "SNAPSHOT_URI": str(tmp_path / "snapshots"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def serve(upstream: HTTPServer, names: list[str], **listing: object) -> Upstream:
    served = Upstream(SimulatedJobList(list(names), **listing))  # type: ignore[arg-type]
    upstream.expect_request(re.compile(rf"^/v1/{PROJECT}/jobs.*")).respond_with_handler(served)
    return served


def test_jobs_prints_a_table_with_the_lists_own_status(
    upstream: HTTPServer, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = serve(upstream, [f"orders_{index:03d}" for index in range(120)])

    code = main(["jobs", PROJECT, "--workspace", WORKSPACE])

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["NAME", "STATUS", "OWNER", "CREATED", "BY", "CREATED"]
    assert [line.split()[:2] for line in lines[1:]] == [
        [f"orders_{index:03d}", "NORMAL"] for index in range(120)
    ]
    assert lines[1].split()[2:] == ["-", "simulated", "2024-11-25T08:00:00.000Z"]
    assert served.workspaces == {WORKSPACE}
    assert err.startswith(f"dlf-status: 120 real-time job(s) of project {PROJECT}, workspace")
    assert err.count("\n") == 1


def test_jobs_as_json_is_an_array_of_objects_with_name_and_status(
    upstream: HTTPServer, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = serve(upstream, ["b", "a", "c-1"], offset_meaning=OffsetMeaning.PAGES_FROM_1)

    code = main(["jobs", PROJECT, "--tags", "prod,team-a", "--name-pattern", "?", "--json"])

    out, _ = capsys.readouterr()
    jobs = json.loads(out)
    assert code == 0
    assert [(job["name"], job["status"]) for job in jobs] == [("a", "NORMAL"), ("b", "NORMAL")]
    assert jobs[0]["job_type"] == "REAL_TIME"
    assert served.tags == {"prod", "team-a"}  # one listing per tag
    assert served.workspaces == {None}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["../x"], "project_id"),
        ([PROJECT, "--tags", "a,,b"], "non-empty string"),
        ([PROJECT, "--workspace", "a b"], "workspace"),
        ([PROJECT, "--name-pattern", "x\x1b"], "not printable"),
    ],
)
def test_jobs_with_a_bad_flag_is_one_line_and_exit_2_without_a_call(
    flags: list[str],
    message: str,
    upstream: HTTPServer,
    environment: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served = serve(upstream, ["a"])

    code = main(["jobs", *flags])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert message in err
    assert served.workspaces == set()


def test_jobs_when_the_list_fails_is_one_line_and_exit_4(
    upstream: HTTPServer, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    busy = (503, {"error_code": "APIG.1000", "error_msg": "busy"})
    serve(upstream, [f"j{index:03d}" for index in range(250)], fail_at={2: busy})

    code = main(["jobs", PROJECT])

    out, err = capsys.readouterr()
    assert (code, out) == (4, "")
    assert err.count("\n") == 1
    assert "failed at offset" in err
    assert "HTTP 503" in err


def test_poll_discover_polls_the_listed_jobs_and_the_list_file_once_each(
    upstream: HTTPServer, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = serve(upstream, ["a", "b", "c"])
    jobs_file = environment / "jobs.yaml"
    jobs_file.write_text(
        f"- {{project_id: {PROJECT}, job_name: b, workspace: {WORKSPACE}}}\n"
        f"- {{project_id: {PROJECT}, job_name: x}}\n"
    )

    code = main(
        [
            "poll",
            "--jobs",
            str(jobs_file),
            "--discover",
            PROJECT,
            "--workspace",
            WORKSPACE,
            "--concurrency",
            "2",
        ]
    )

    out, err = capsys.readouterr()
    assert code == 1  # x does not exist: failed (an explicit job is never "gone")
    assert sorted(served.statuses) == ["a", "b", "c", "x"]
    lines = out.splitlines()
    assert lines[0].endswith("4 jobs, 3 ok, 1 failed, 0 not reached")
    assert lines[1] == (
        f"discovery of project {PROJECT}, workspace {WORKSPACE}: 3 job(s) found, "
        f"{len(served.listing.requests)} list request(s)"
    )
    progress = sorted(line.split()[0] for line in err.splitlines())
    assert progress == ["1/4", "2/4", "3/4", "4/4"]


def test_poll_discover_reports_a_gone_job_and_exits_0(
    upstream: HTTPServer, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = serve(upstream, ["a", "b"])
    assert main(["poll", "--discover", PROJECT]) == 0
    served.listing.names.remove("b")
    capsys.readouterr()

    code = main(["poll", "--discover", PROJECT])

    out, _ = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[0].endswith("2 jobs, 1 ok, 0 failed, 0 not reached, 1 gone")
    assert any(line.split()[:3] == ["b", "gone", "-"] for line in out.splitlines())


def test_poll_without_jobs_or_discover_is_exit_2(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["poll"]) == 2
    assert "--jobs FILE, --discover PROJECT_ID, or both" in capsys.readouterr().err


def test_poll_with_discovery_flags_but_no_discover_is_exit_2(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs_file = environment / "jobs.yaml"
    jobs_file.write_text(f"- {{project_id: {PROJECT}, job_name: x}}\n")

    assert main(["poll", "--jobs", str(jobs_file), "--tags", "prod"]) == 2
    assert "go with --discover" in capsys.readouterr().err
