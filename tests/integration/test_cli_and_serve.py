"""`dlf-status get` and `dlf-status serve` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer

from dlf_status.config import Settings
from dlf_status.entrypoints.cli import main
from tests.integration.conftest import PROJECT, exchange_response, match_path
from tests.support.root import api_from
from tests.support.serving import serving

pytestmark = pytest.mark.integration


@pytest.fixture
def environment(
    upstream: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    values = {
        "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
        "DLF_AK": "CLIACCESSKEY",
        "DLF_SK": "cli-sk-not-a-secret",
        "DLF_MAX_ATTEMPTS": "1",
        "SNAPSHOT_URI": str(tmp_path / "snapshots"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_get_prints_the_document_and_writes_the_snapshot(
    upstream: HTTPServer, environment: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    upstream.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2023-epoch-millis")
    )

    code = main(["get", PROJECT, "job_sms"])

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert json.loads(out)["job"]["start_time"] == "2023-04-27T08:03:39.000Z"
    assert list(Path(environment["SNAPSHOT_URI"]).rglob("latest.json"))


@pytest.mark.parametrize(
    ("fixture", "code", "message"),
    [
        ("doc-2024-failure-dlf0100", 3, "does not exist"),
        ("gateway-401-signature", 4, "rejected dlf-status's credentials"),
        ("server-500-html", 4, "DataArts Studio failed (HTTP 500)"),
    ],
)
def test_get_exit_codes_say_what_failed(
    fixture: str,
    code: int,
    message: str,
    upstream: HTTPServer,
    environment: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    upstream.expect_request(match_path("job_sms")).respond_with_response(exchange_response(fixture))

    assert main(["get", PROJECT, "job_sms"]) == code

    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert message in err


def test_get_exits_5_when_the_store_fails_but_still_prints_the_document(
    upstream: HTTPServer,
    environment: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    monkeypatch.setenv("SNAPSHOT_URI", str(blocker))
    upstream.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )

    code = main(["get", PROJECT, "job_sms"])

    out, err = capsys.readouterr()
    assert code == 5
    assert json.loads(out)["job"]["name"] == "job_sms"
    assert err.startswith("dlf-status: cannot read ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["get", PROJECT, "bad\x00name"], "control"),
        (["get", "../x", "job"], "project_id"),
        (["get", PROJECT, "job", "--workspace", "a b"], "workspace"),
    ],
)
def test_get_refuses_bad_input_with_exit_2(
    argv: list[str], message: str, environment: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_get_without_configuration_says_which_variable_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DLF_ENDPOINT", "DLF_REGION"):
        monkeypatch.delenv(name, raising=False)

    assert main(["get", PROJECT, "job"]) == 2
    assert capsys.readouterr().err == "dlf-status: set DLF_ENDPOINT or DLF_REGION\n"


@pytest.fixture
def served(environment: dict[str, str]) -> Iterator[str]:
    with serving(api_from(os.environ)) as url:
        yield url


def test_serve_answers_like_the_gateway(upstream: HTTPServer, served: str) -> None:
    upstream.expect_request(match_path("job sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )

    answer = requests.get(f"{served}/v1/{PROJECT}/jobs/job%20sms/status", timeout=5)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["source"]["job_name"] == "job sms"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nothing/here", 404),
        ("POST", f"/v1/{PROJECT}/jobs/j/status", 405),
        ("GET", f"/v1/{PROJECT}/jobs/%0D%0AX-Evil:%201/status", 400),
        ("GET", f"/v1/{PROJECT}/jobs/%FF%FE/status", 400),
    ],
)
def test_serve_maps_bad_requests_to_problems(
    served: str, method: str, path: str, status: int
) -> None:
    answer = requests.request(method, served + path, timeout=5)

    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == status


def test_the_console_script_is_installed_and_runs() -> None:
    script = Path(sys.executable).parent / "dlf-status"

    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)

    assert result.returncode == 0
    assert result.stdout.startswith("dlf-status ")


def test_settings_used_by_the_cli_come_from_the_environment(environment: dict[str, str]) -> None:
    settings = Settings.from_environ(os.environ)

    assert settings.upstream.endpoint == environment["DLF_ENDPOINT"]
    assert settings.upstream.max_attempts == 1
