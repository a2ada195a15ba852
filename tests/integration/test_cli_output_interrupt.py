"""Ctrl-C at any moment of the installed `dlf-status`: one line, `dlf-status:
interrupted`, and exit 130 (what a shell reports for a process SIGINT stopped), never
a traceback. The moment is chosen, not timed: the signal is sent from inside the
process (at an import, at parsing) or once the upstream has the request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

pytestmark = pytest.mark.integration

SCRIPT = Path(sys.executable).parent / "dlf-status"
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
INTERRUPTED = 130
TIMEOUT = 120

# The console script, with SIGINT sent to itself at one chosen moment.
_INTERRUPTED_AT = """
import importlib.abc, os, signal, sys
moment = {moment!r}

def interrupt(*_):
    os.kill(os.getpid(), signal.SIGINT)

class At(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == moment:
            interrupt()
        return None

sys.meta_path.insert(0, At())
from dlf_status.entrypoints import console
if moment == "parsing":
    from dlf_status.entrypoints import cli
    cli.build_parser = interrupt
sys.exit(console.main())
"""


def _default_sigint() -> None:
    # A test runner started in the background may pass SIGINT on ignored.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _environment(tmp_path: Path, **values: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "SNAPSHOT_URI": str(tmp_path / "snapshots"),
        "DLF_AUTH_TOKEN": "interrupt-test-token-not-a-secret",
        **values,
    }


def _assert_interrupted(code: int | None, err: bytes) -> None:
    assert code == INTERRUPTED, err
    assert err == b"dlf-status: interrupted\n", err


@pytest.mark.parametrize(
    "moment", ["dlf_status.bootstrap", "dlf_status.domain.jsoncodec", "parsing"]
)
def test_ctrl_c_while_starting_is_one_line_and_exit_130(tmp_path: Path, moment: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _INTERRUPTED_AT.format(moment=moment),
            *["history", PROJECT, "job"],
        ],
        env=_environment(tmp_path, DLF_ENDPOINT="http://127.0.0.1:9"),
        capture_output=True,
        check=False,
        timeout=TIMEOUT,
        preexec_fn=_default_sigint,
    )
    _assert_interrupted(result.returncode, result.stderr)
    assert result.stdout == b""


@pytest.mark.parametrize("command", [["get", PROJECT, "job"], ["poll", "--jobs", "JOBS"]])
def test_ctrl_c_while_the_upstream_is_asked_is_one_line_and_exit_130(
    upstream: HTTPServer, tmp_path: Path, command: list[str]
) -> None:
    asked = threading.Event()
    release = threading.Event()

    def never_answering(request: Request) -> Response:
        asked.set()
        release.wait(TIMEOUT)
        return Response("{}", status=500, content_type="application/json")

    upstream.expect_request(f"/v1/{PROJECT}/jobs/job/status").respond_with_handler(never_answering)
    jobs = tmp_path / "jobs.json"
    jobs.write_text(f'[{{"project_id": "{PROJECT}", "job_name": "job"}}]')
    argv = [str(jobs) if word == "JOBS" else word for word in command]
    process = subprocess.Popen(
        [str(SCRIPT), *argv],
        env=_environment(
            tmp_path, DLF_ENDPOINT=upstream.url_for("/").rstrip("/"), DLF_MAX_ATTEMPTS="1"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_default_sigint,
    )
    try:
        assert asked.wait(TIMEOUT)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        release.set()
        if process.poll() is None:
            process.kill()
            process.communicate()
    _assert_interrupted(process.returncode, err)
    assert out == b""
    # Nothing half-written: no snapshot at all (the answer never came).
    snapshots = tmp_path / "snapshots"
    assert not snapshots.exists() or not any(p.is_file() for p in snapshots.rglob("*"))


def test_the_console_script_ends_as_the_cli_does_on_ctrl_c() -> None:
    """The handler installed before the CLI loads cannot import its exit codes."""
    from dlf_status.entrypoints import console
    from dlf_status.entrypoints.problems import ExitCode

    assert console.INTERRUPTED == ExitCode.INTERRUPTED
    assert console.INTERRUPTED_LINE == b"dlf-status: interrupted\n"
