"""The installed `dlf-status` in the C locale with UTF-8 mode off (`LC_ALL=C
PYTHONUTF8=0`: Python then decodes the command line as ASCII): a job name typed in
UTF-8 is the job's name, not surrogates refused as "non-UTF-8"; bytes that are not
UTF-8 are still refused in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(sys.executable).parent / "dlf-status"
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
NAME = "j\u00f6b_\u540d"


def _run(tmp_path: Path, job_name: bytes) -> subprocess.CompletedProcess[bytes]:
    environment = {
        b"PATH": os.fsencode(os.environ.get("PATH", os.defpath)),
        b"LC_ALL": b"C",
        b"PYTHONUTF8": b"0",
        b"SNAPSHOT_URI": os.fsencode(str(tmp_path)),
    }
    return subprocess.run(
        [os.fsencode(SCRIPT), b"history", PROJECT.encode(), job_name],
        env=environment,
        capture_output=True,
        check=False,
        timeout=120,
    )


def test_a_utf8_job_name_in_the_c_locale_is_that_job(tmp_path: Path) -> None:
    result = _run(tmp_path, NAME.encode("utf-8"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"history of job {NAME!r} in project".encode()), result.stdout


def test_a_job_name_that_is_not_utf8_is_still_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _run(tmp_path, b"j\xff")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count(b"\n") == 1
    assert b"job_name" in result.stderr
    assert result.stdout == b""
