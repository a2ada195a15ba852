"""The JSON log lines `dlf-status -v` writes to stderr, whatever text the upstream put
in a value: one printable line (nothing a terminal obeys or hides: a C1 control, a bidi
override, a line separator, a zero-width space), that Python's json reads back to the
very value logged, lone surrogates included."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlf_status.observability import formatter

HOSTILE = ["\x1b[31m", "\x9b31m", "\u202e", "\u2028", "\u200b", "\ufeff", "\x7f", "\ud800", "\r"]


@pytest.fixture(scope="module")
def emit() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    log = logging.getLogger("dlf-status.test-cli-output-logs")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log, stream
    log.removeHandler(handler)


def _line(emit: tuple[logging.Logger, io.StringIO], message: str, value: str) -> str:
    log, stream = emit
    stream.seek(0)
    stream.truncate()
    log.info("%s", message, extra={"job_name": value})
    return stream.getvalue()


hostile_text = st.lists(st.one_of(st.characters(), st.sampled_from(HOSTILE))).map("".join)


@given(message=hostile_text, value=hostile_text)
def test_a_log_line_is_printable_json_that_reads_back_to_the_values(
    emit: tuple[logging.Logger, io.StringIO], message: str, value: str
) -> None:
    line = _line(emit, message, value)
    assert line.endswith("\n")
    assert line[:-1].isprintable(), repr(line)
    line[:-1].encode("utf-8")  # a UTF-8 stream takes it
    record = json.loads(line)
    assert record["message"] == message
    assert record["job_name"] == value


@pytest.mark.parametrize("value", HOSTILE)
def test_each_hostile_character_is_escaped_and_kept(
    emit: tuple[logging.Logger, io.StringIO], value: str
) -> None:
    line = _line(emit, "polled", f"a{value}b")
    assert value not in line
    assert json.loads(line)["job_name"] == f"a{value}b"
