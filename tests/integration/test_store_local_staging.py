"""Staged files of the local store against real writer processes: one killed in the
middle of a write, one alive but stalled. The sweep removes the first's leftover
once it is old, and never touches the second's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dlf_status.adapters.store_local import STALE_STAGED_SECONDS, LocalDirectoryStore
from tests.support.paused_writer import BODY

pytestmark = pytest.mark.integration

KEY = "history/project_id=p/workspace=__HIVE_DEFAULT_PARTITION__/job_name=j/date=2026-11-25/x.json"
REPOSITORY = Path(__file__).resolve().parents[2]


@contextmanager
def paused_writer(root: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A writer process stopped between staging its file and linking it."""
    with subprocess.Popen(
        [sys.executable, "-m", "tests.support.paused_writer", str(root), KEY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPOSITORY,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("staged "), line
            yield process, Path(line.removeprefix("staged ").strip())
        finally:
            if process.poll() is None:
                process.kill()


def make_old(path: Path) -> None:
    then = time.time() - STALE_STAGED_SECONDS - 60
    os.utime(path, (then, then))


def test_a_killed_writer_s_staged_file_is_removed_once_old(tmp_path: Path) -> None:
    with paused_writer(tmp_path) as (process, staged):
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert staged.exists()  # what a killed writer leaves behind

    LocalDirectoryStore(tmp_path).create("history/other.json", b"1", {})
    assert staged.exists()  # too recent: it could still be a live writer's

    make_old(staged)
    LocalDirectoryStore(tmp_path).create("history/another.json", b"2", {})

    assert not staged.exists()
    assert LocalDirectoryStore(tmp_path).get(KEY) is None  # that write never happened
    assert LocalDirectoryStore(tmp_path).get("history/another.json") is not None


def test_a_live_writer_s_staged_file_is_never_swept_however_old(tmp_path: Path) -> None:
    with paused_writer(tmp_path) as (process, staged):
        make_old(staged)

        assert LocalDirectoryStore(tmp_path).sweep_staged() == 0
        assert staged.exists()

        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write("go\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "created True"

    stored = LocalDirectoryStore(tmp_path).get(KEY)
    assert stored is not None
    assert stored.body == BODY
    assert not staged.exists()
