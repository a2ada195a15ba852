"""The wheel, installed into a fresh virtualenv, works outside the source tree: the
`dlf-status` command validates, normalises and fetches, the demo runs on what the
package ships, and the Lambda handler answers a recorded API Gateway event. Every run
has a directory outside the tree as its cwd and no PYTHONPATH, and checks that
dlf_status came from the virtualenv."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.integration.conftest import PROJECT, exchange_response, match_path
from tests.package.conftest import ROOT, InstalledWheel
from tests.support.events import http_api_event

pytestmark = pytest.mark.integration

FIXTURES = ROOT / "contract_tests" / "fixtures"
RUN_TIMEOUT = 120
FAKE_AK = "PACKAGETESTAK"
FAKE_SK = "package-test-sk-not-a-secret"


def _environment(**values: str) -> dict[str, str]:
    """Only what a user's shell would add: no PYTHONPATH, no virtualenv of ours."""
    return {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", **values}


def _upstream_environment(upstream: HTTPServer, snapshots: Path) -> dict[str, str]:
    return _environment(
        DLF_ENDPOINT=upstream.url_for("").rstrip("/"),
        DLF_AK=FAKE_AK,
        DLF_SK=FAKE_SK,
        DLF_MAX_ATTEMPTS="1",
        SNAPSHOT_URI=str(snapshots),
    )


def run_cli(
    installed: InstalledWheel,
    *arguments: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed.cli), *arguments],
        cwd=cwd or installed.workdir,
        env=env if env is not None else _environment(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def _site_packages(installed: InstalledWheel) -> Path:
    found = sorted(installed.venv.glob("lib/python3*/site-packages"))
    assert len(found) == 1, found
    return found[0]


def test_the_package_is_imported_from_the_virtualenv_with_its_spec(
    installed_wheel: InstalledWheel,
) -> None:
    probe = (
        "import json, dlf_status, importlib.resources as r; "
        "spec = r.files('dlf_status.spec').joinpath('openapi.json'); "
        "print(json.dumps([dlf_status.__file__, json.loads(spec.read_bytes())['openapi']]))"
    )

    result = subprocess.run(
        [str(installed_wheel.python), "-I", "-c", probe],
        cwd=installed_wheel.workdir,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    module_file, openapi_version = json.loads(result.stdout)
    assert Path(module_file).is_relative_to(_site_packages(installed_wheel))
    assert not Path(module_file).resolve().is_relative_to(ROOT)
    assert openapi_version.startswith("3.")


def test_validate_accepts_a_documented_answer(installed_wheel: InstalledWheel) -> None:
    fixture = FIXTURES / "valid" / "doc-2024-success.json"

    result = run_cli(installed_wheel, "validate", str(fixture))

    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == f"{fixture}: 0 violation(s)\n"


@pytest.mark.parametrize("name", ["status-number", "job-without-name", "node-without-name"])
def test_validate_reports_each_violation_and_exits_1(
    name: str, installed_wheel: InstalledWheel
) -> None:
    fixture = FIXTURES / "invalid" / f"{name}.json"
    expected_paths = json.loads(fixture.read_text(encoding="utf-8"))["expected_violation_paths"]

    result = run_cli(installed_wheel, "validate", str(fixture))

    assert result.returncode == 1, result.stderr
    reported = [line.split(": ", 1)[0] for line in result.stdout.splitlines()]
    assert sorted(set(reported)) == sorted(set(expected_paths))
    assert "Traceback" not in result.stderr


def test_normalize_prints_the_v1_document(installed_wheel: InstalledWheel) -> None:
    fixture = FIXTURES / "valid" / "doc-2023-epoch-millis.json"

    result = run_cli(
        installed_wheel,
        "normalize",
        str(fixture),
        "--project-id",
        PROJECT,
        "--job-name",
        "job_sms",
    )

    assert (result.returncode, result.stderr) == (0, "")
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["schema_version"] == "1.1"
    assert (document["source"]["project_id"], document["source"]["job_name"]) == (
        PROJECT,
        "job_sms",
    )
    # startTime 1682582619000 and lastUpdateTime 1682582558000, epoch milliseconds
    assert document["job"]["start_time"] == "2023-04-27T08:03:39.000Z"
    assert document["job"]["last_update_time"] == "2023-04-27T08:02:38.000Z"
    assert [node["name"] for node in document["nodes"]] == ["MRS_Flink_Job_8635"]
    assert document["validation"]["valid"] is True


def test_get_fetches_a_signed_answer_from_the_upstream_and_writes_the_snapshot(
    installed_wheel: InstalledWheel, upstream: HTTPServer, tmp_path: Path
) -> None:
    upstream.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2019-seven-nodes")
    )
    snapshots = tmp_path / "snapshots"

    result = run_cli(
        installed_wheel, "get", PROJECT, "job_sms", env=_upstream_environment(upstream, snapshots)
    )

    assert (result.returncode, result.stderr) == (0, "")
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["job"]["name"] == "job_sms"
    assert document["summary"]["node_count"] == 4
    assert document["summary"]["nodes_by_status"] == {
        "STARTING": 0,
        "NORMAL": 2,
        "EXCEPTION": 1,
        "STOPPING": 0,
        "STOPPED": 1,
        "UNKNOWN": 0,
    }
    (request, _response) = upstream.log[0]
    assert request.headers["Authorization"].startswith(f"SDK-HMAC-SHA256 Access={FAKE_AK}, ")
    latest = sorted(snapshots.rglob("latest.json"))
    assert [path.parent.name for path in latest] == ["job_name=job_sms"]
    assert json.loads(latest[0].read_text(encoding="utf-8"))["job"]["name"] == "job_sms"


def test_get_exits_3_with_one_line_when_the_job_does_not_exist(
    installed_wheel: InstalledWheel, upstream: HTTPServer, tmp_path: Path
) -> None:
    upstream.expect_request(match_path("retired_job")).respond_with_response(
        exchange_response("doc-2024-failure-dlf0100")
    )

    result = run_cli(
        installed_wheel,
        "get",
        PROJECT,
        "retired_job",
        env=_upstream_environment(upstream, tmp_path / "snapshots"),
    )

    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr.startswith("dlf-status: job 'retired_job'")
    assert result.stderr.count("\n") == 1
    assert "DLF.0100" in result.stderr


def test_the_lambda_handler_answers_a_recorded_http_api_event(
    installed_wheel: InstalledWheel, upstream: HTTPServer, tmp_path: Path
) -> None:
    upstream.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    event = tmp_path / "event.json"
    event.write_text(json.dumps(http_api_event(PROJECT, "job_sms")), encoding="utf-8")
    answer_file = tmp_path / "answer.json"
    snapshots = tmp_path / "snapshots"

    result = subprocess.run(
        [
            str(installed_wheel.python),
            "-I",
            str(Path(__file__).with_name("invoke_handler.py")),
            str(event),
            str(answer_file),
        ],
        cwd=installed_wheel.workdir,
        env=_upstream_environment(upstream, snapshots),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    written: dict[str, Any] = json.loads(answer_file.read_text(encoding="utf-8"))
    assert Path(written["imported_from"]).is_relative_to(_site_packages(installed_wheel))
    answer = written["answer"]
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"].startswith("application/json")
    document = json.loads(answer["body"])
    assert (document["source"]["project_id"], document["job"]["name"]) == (PROJECT, "job_sms")
    assert document["validation"]["valid"] is True
    assert FAKE_SK not in result.stdout + result.stderr
    assert [path.parent.name for path in snapshots.rglob("latest.json")] == ["job_name=job_sms"]


def test_the_demo_runs_where_the_user_is_and_writes_its_snapshots_there(
    installed_wheel: InstalledWheel, tmp_path: Path
) -> None:
    """`dlf-status demo` is the README's first command: a user who installed the wheel
    runs it from any directory, with no checkout, and finds ./snapshots there."""
    result = run_cli(installed_wheel, "demo", cwd=tmp_path)

    assert (result.returncode, result.stderr) == (0, "")
    polled = result.stdout.split("Discovery: ")[0]
    rows = {line.split()[0]: line.split() for line in polled.splitlines() if line.split()}
    assert rows["orders_stream"][-1] == "changed"
    assert rows["retired_job"][-3:] == ["-", "none", "(DLF.0100)"]
    # at most two jobs a page, offsets counting records: 0, 1 (the probe), 3, and the
    # empty page at 4 that ends a walk; two walks (README, Discovery)
    assert "4 real-time job(s) found in 8 list request(s)" in result.stdout
    latest = sorted(path.parent.name for path in (tmp_path / "snapshots").rglob("latest.json"))
    assert latest == [
        "job_name=clickstream",
        "job_name=orders_stream",
        "job_name=orders_v2",
        "job_name=sms_pipeline",
    ]

    again = run_cli(installed_wheel, "demo", cwd=tmp_path)

    assert again.returncode == 0, again.stderr
    polled = again.stdout.split("Discovery: ")[0]
    assert [line.split()[-1] for line in polled.splitlines() if " 200 " in line] == [
        "unchanged"
    ] * 4


def test_the_commands_the_demo_suggests_run_from_the_installed_wheel(
    installed_wheel: InstalledWheel, tmp_path: Path
) -> None:
    """`Look next` names commands a user of the installed tool can type where they are:
    the command they ran (found on PATH), not a checkout's .venv or make targets."""
    env = _environment(PATH=f"{installed_wheel.cli.parent}:{os.defpath}")
    shown = run_cli(installed_wheel, "demo", env=env, cwd=tmp_path).stdout
    suggested = [line.split("#")[0] for line in shown.split("Look next:\n")[1].splitlines()]

    assert not [line for line in suggested if ".venv/" in line or "make " in line]
    reads = [shlex.split(line) for line in suggested if line.lstrip().startswith("SNAPSHOT_URI=")]
    assert [words[1:3] for words in reads] == [["dlf-status", "drift"], ["dlf-status", "fleet"]]
    for setting, *command in reads:
        name, value = setting.split("=", 1)
        run = subprocess.run(
            command,
            cwd=tmp_path,
            env={**env, name: value},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert (run.returncode, run.stdout != "") == (0, True), (command, run.stderr)
