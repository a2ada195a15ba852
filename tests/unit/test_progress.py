"""`dlf-status poll`'s progress lines show job names escaped, never as a terminal
would obey them (entrypoints/progress.py)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlf_status.domain.ticks import JobOutcome, JobResult
from dlf_status.entrypoints.progress import Progress


def _line(job_name: str, status: str = "NORMAL") -> str:
    stream = io.StringIO()  # not a terminal: plain lines
    Progress(1, stream)(JobOutcome("p", job_name, None, JobResult.OK, status=status))
    return stream.getvalue()


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("a\u202eb", "a\\u202eb"),  # right-to-left override
        ("job\u200b", "job\\u200b"),  # zero width space: not the same as `job`
        ("soft\u00adhyphen", "soft\\xadhyphen"),
        ("bell\x07", "bell\\x07"),
        ("作业 1", "作业 1"),
    ],
)
def test_format_and_control_characters_are_escaped(name: str, shown: str) -> None:
    assert _line(name) == f"1/1 ok {shown} NORMAL\n"


@given(name=st.text(min_size=1, max_size=40), status=st.text(max_size=20))
def test_a_progress_line_is_one_printable_line(name: str, status: str) -> None:
    line = _line(name, status)

    assert line.endswith("\n")
    assert line[:-1].isprintable()
