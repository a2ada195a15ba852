"""`dlf-status poll` at a terminal (a pty), stopped by Ctrl-C while one job's answer
never comes: the progress bar's line is ended before `dlf-status: interrupted`, which
starts a line of its own, and nothing is drawn after it. The signal is sent once the
bar shows every other job done, not after a delay."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

pytestmark = pytest.mark.integration

SCRIPT = Path(sys.executable).parent / "dlf-status"
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
TIMEOUT = 120
FAST = ["j0", "j1", "j2", "j3"]


def _read_until(descriptor: int, wanted: bytes, seen: bytearray) -> None:
    deadline = time.monotonic() + TIMEOUT  # a hung command fails here, not forever
    while wanted not in seen:
        assert time.monotonic() < deadline, bytes(seen)
        ready, _, _ = select.select([descriptor], [], [], 1)
        if ready:
            seen += os.read(descriptor, 65536)


def _read_to_end(descriptor: int, seen: bytearray) -> None:
    while True:
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:  # EIO: the child closed the terminal
            return
        if not chunk:
            return
        seen += chunk


def test_ctrl_c_under_the_progress_bar_ends_its_line_first(
    upstream: HTTPServer, tmp_path: Path
) -> None:
    release = threading.Event()

    def never_answering(request: Request) -> Response:
        release.wait(TIMEOUT)
        return Response("{}", status=500, content_type="application/json")

    upstream.expect_request(f"/v1/{PROJECT}/jobs/slow/status").respond_with_handler(never_answering)
    for name in FAST:
        upstream.expect_request(f"/v1/{PROJECT}/jobs/{name}/status").respond_with_json(
            {"error_code": "DLF.0001", "error_msg": "no"}, status=500
        )
    jobs = tmp_path / "jobs.json"
    entries = [{"project_id": PROJECT, "job_name": name} for name in ["slow", *FAST]]
    jobs.write_text(json.dumps(entries))
    environment = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "SNAPSHOT_URI": str(tmp_path / "snapshots"),
        "DLF_ENDPOINT": upstream.url_for("/").rstrip("/"),
        "DLF_AUTH_TOKEN": "terminal-test-token-not-a-secret",
        "DLF_MAX_ATTEMPTS": "1",
    }
    pid, terminal = pty.fork()
    if pid == 0:  # the child: stdout and stderr are the terminal
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        argv = [str(SCRIPT), "poll", "--jobs", str(jobs), "--concurrency", "2"]
        try:
            os.execve(argv[0], argv, environment)  # noqa: S606 - the script itself, no shell
        finally:
            os._exit(127)  # never back into pytest from the forked child
    seen = bytearray()
    try:
        _read_until(terminal, b"4/5", seen)
        os.kill(pid, signal.SIGINT)
        _read_to_end(terminal, seen)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 130, bytes(seen)
    text = bytes(seen).decode("utf-8")
    assert text.endswith("\r\ndlf-status: interrupted\r\n"), text
    assert "Traceback" not in text
