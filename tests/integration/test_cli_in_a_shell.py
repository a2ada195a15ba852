"""The installed `dlf-status` script as a shell user meets it: stdout closed (`>&-`) or
its reader gone (`| head -1` after the reader stopped), stderr gone under the progress
lines, and a locale that cannot encode what is printed. Never a traceback, never the
`internal error` of a bug: stdout's reader gone is silent, exit 141 (what a shell
reports for a process stopped by SIGPIPE); stdout closed is one line, exit 74."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract_tests.support import FIXTURES
from dlf_status.devtools.replay import RECORDED
from dlf_status.entrypoints.demo import PROJECT, run_demo

pytestmark = pytest.mark.integration

SCRIPT = Path(sys.executable).parent / "dlf-status"
TIMEOUT = 120
READER_GONE = 141
STDOUT_CLOSED = 74
UNREACHABLE = {
    "DLF_ENDPOINT": "http://127.0.0.1:9",  # discard: nothing listens on loopback here
    "DLF_AUTH_TOKEN": "shell-test-token-not-a-secret",
    "DLF_MAX_ATTEMPTS": "1",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store the demo filled: something for fleet, history and drift to print."""
    snapshots = tmp_path_factory.mktemp("shell") / "snapshots"
    assert run_demo(RECORDED, snapshots, io.StringIO()) == 0
    return snapshots


def _environment(store: Path, **values: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "SNAPSHOT_URI": str(store),
        **values,
    }


@pytest.fixture
def gone_reader() -> Iterator[int]:
    """The write end of a pipe whose reader has already exited."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    yield write_end
    os.close(write_end)


def commands(tmp_path: Path) -> dict[str, list[str]]:
    jobs = tmp_path / "jobs.json"
    names = ["orders", "j\u00f6b_\u540d"]
    jobs.write_text(json.dumps([{"project_id": PROJECT, "job_name": n} for n in names]))
    return {
        "validate": ["validate", str(FIXTURES / "invalid" / "status-number.json")],
        "normalize": ["normalize", str(FIXTURES / "valid" / "doc-2019-seven-nodes.json")],
        "fleet": ["fleet", PROJECT],
        "fleet --json": ["fleet", PROJECT, "--json"],
        "history --json": ["history", PROJECT, "sms_pipeline", "--json"],
        "drift": ["drift"],
        "drift --json": ["drift", "--json"],
        "poll": ["poll", "--jobs", str(jobs)],
        "demo": ["demo", "--snapshots", str(tmp_path / "demo")],
        "--help": ["--help"],
        "--version": ["--version"],
    }


COMMANDS = [
    "validate",
    "normalize",
    "fleet",
    "fleet --json",
    "history --json",
    "drift",
    "drift --json",
    "poll",
    "demo",
    "--help",
    "--version",
]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_reader_of_stdout_that_went_away_ends_the_command_silently_with_141(
    name: str, store: Path, tmp_path: Path, gone_reader: int
) -> None:
    result = subprocess.run(
        [str(SCRIPT), *commands(tmp_path)[name]],
        stdout=gone_reader,
        stderr=subprocess.PIPE,
        env=_environment(store, **UNREACHABLE),
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )

    stderr = result.stderr.decode("utf-8", "backslashreplace")
    assert "Traceback" not in stderr
    assert "internal error" not in stderr
    assert "Exception ignored" not in stderr
    assert result.returncode == READER_GONE, stderr


@pytest.mark.parametrize("name", [n for n in COMMANDS if n not in {"--help", "--version"}])
def test_a_closed_stdout_is_one_line_and_exit_74_before_any_work(
    name: str, store: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        ["/bin/sh", "-c", 'exec "$0" "$@" >&-', str(SCRIPT), *commands(tmp_path)[name]],
        stderr=subprocess.PIPE,
        env=_environment(store, **UNREACHABLE),
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )

    stderr = result.stderr.decode("utf-8", "backslashreplace")
    assert result.returncode == STDOUT_CLOSED, stderr
    assert stderr.splitlines() == ["dlf-status: cannot write the results: stdout is closed"]
    assert not (tmp_path / "demo").exists()  # nothing done that nobody would see


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_with_stdout_closed_leave_no_traceback(
    flag: str, store: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        ["/bin/sh", "-c", 'exec "$0" "$@" >&-', str(SCRIPT), flag],
        stderr=subprocess.PIPE,
        env=_environment(store),
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )

    assert b"Traceback" not in result.stderr
    assert b"Exception ignored" not in result.stderr


def test_poll_polls_every_job_when_its_progress_lines_cannot_be_written(
    store: Path, tmp_path: Path, gone_reader: int
) -> None:
    """Progress is decoration: a stderr whose reader went away stops the lines, not the
    tick, and the table still reaches stdout."""
    result = subprocess.run(
        [str(SCRIPT), *commands(tmp_path)["poll"]],
        stdout=subprocess.PIPE,
        stderr=gone_reader,
        env=_environment(store, **UNREACHABLE),
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )

    table = result.stdout.decode("utf-8")
    assert result.returncode == 1, table  # both jobs fail: nothing listens upstream
    assert "2 jobs, 0 ok, 2 failed, 0 not reached" in table


@pytest.mark.parametrize(
    "locale",
    [
        {"PYTHONIOENCODING": "ascii"},
        {"PYTHONIOENCODING": "latin-1"},
        {"LC_ALL": "C", "LANG": "C"},
        {"LC_ALL": "en_US.ISO-8859-1", "LANG": "en_US.ISO-8859-1"},
    ],
    ids=["ascii", "latin-1", "C", "ISO-8859-1"],
)
def test_results_with_non_ascii_names_are_utf_8_whatever_the_locale(
    locale: dict[str, str], store: Path, tmp_path: Path
) -> None:
    """Results are UTF-8 bytes on stdout (a document is UTF-8 JSON); stderr escapes
    what its encoding cannot say. Nothing fails for want of an encoding."""
    snapshots = tmp_path / "sn\u00e4pshots \u540d"
    env = {**_environment(store), **locale}

    demo = subprocess.run(
        [str(SCRIPT), "demo", "--snapshots", str(snapshots)],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )
    poll = subprocess.run(
        [str(SCRIPT), *commands(tmp_path)["poll"]],
        capture_output=True,
        env={**env, **UNREACHABLE},
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )

    assert (demo.returncode, demo.stderr) == (0, b"")
    assert str(snapshots) in demo.stdout.decode("utf-8")
    assert poll.returncode == 1, poll.stderr
    assert "j\u00f6b_\u540d" in poll.stdout.decode("utf-8")
    assert b"Traceback" not in poll.stderr
