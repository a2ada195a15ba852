"""Every log line stays one JSON object under MAX_LINE_BYTES, whatever the upstream
put in it (observability.bounded_line): CloudWatch Logs takes at most 256 KB per
event, and Lambda cuts a longer line into several events of broken JSON.

The lines are the real logger's, captured from stdout, each read with json.loads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status.observability import MAX_LINE_BYTES, bounded_line, logger

CORRELATION = "corr-0123456789"


@pytest.fixture(autouse=True)
def correlated() -> Iterator[None]:
    logger.set_correlation_id(CORRELATION)
    yield
    logger.set_correlation_id(None)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines, "nothing was logged"
    for line in lines:
        assert len(line.encode("utf-8")) <= MAX_LINE_BYTES, len(line.encode("utf-8"))
    return [json.loads(line) for line in lines]


# Upstream text: any characters (ASCII, beyond the BMP, controls, lone surrogates),
# repeated to sizes around and far over the bound (hypothesis draws short texts);
# long arrays of small values (violations, nodes, job lists); objects holding either.
_SMALL = st.none() | st.integers() | st.text(max_size=30)
_BIG_TEXT = st.builds(
    lambda text, times: text * times,
    st.text(min_size=1, max_size=20),
    st.sampled_from([1, 100, 1_000, 20_000]),
)
_LONG_LIST = st.builds(
    lambda items, times: items * times,
    st.lists(_SMALL | st.dictionaries(st.text(max_size=10), _SMALL, max_size=3), max_size=4),
    st.sampled_from([1, 300, 5_000]),
)
_VALUE = (
    _SMALL | _BIG_TEXT | _LONG_LIST | st.dictionaries(st.text(max_size=10), _BIG_TEXT, max_size=3)
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    extra=st.dictionaries(st.sampled_from(["detail", "first", "violations", "job_name"]), _VALUE)
)
def test_a_line_of_any_upstream_values_is_json_under_the_bound_with_its_correlation_id(
    capsys: pytest.CaptureFixture[str], extra: dict[str, Any]
) -> None:
    logger.warning("upstream failed", extra=extra)

    [record] = _lines(capsys)
    assert record["message"] == "upstream failed"
    assert record["level"] == "WARNING"
    assert record["correlation_id"] == CORRELATION


def test_a_huge_detail_keeps_its_head_and_tail_and_says_how_big_the_line_was(
    capsys: pytest.CaptureFixture[str],
) -> None:
    detail = "HEAD" + "x" * 1_000_000 + "TAIL"

    logger.error("snapshot write failed", extra={"detail": detail})

    [record] = _lines(capsys)
    assert record["detail"].startswith("HEAD")
    assert record["detail"].endswith("TAIL")
    assert "characters cut" in record["detail"]
    assert record["log_truncated_from_bytes"] > 1_000_000


def test_an_exception_with_a_huge_message_logs_one_bounded_line_with_its_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        raise ValueError("\u202e\x9b" + "é" * 500_000 + " the end")
    except ValueError:
        logger.exception("unexpected error")

    [record] = _lines(capsys)
    assert record["message"] == "unexpected error"
    assert record["exception_name"] == "ValueError"
    assert record["exception"].endswith(" the end")  # a traceback's last line is the error
    assert record["correlation_id"] == CORRELATION


def test_a_line_of_many_small_values_is_cut_to_the_bound(
    capsys: pytest.CaptureFixture[str],
) -> None:
    violations = [{"path": f"$.nodes[{i}].name", "message": "not a string"} for i in range(50_000)]

    logger.warning("contract violations", extra={"violations": violations})

    [record] = _lines(capsys)
    assert record["violations"][0] == violations[0]
    assert record["violations"][-1].endswith("more items cut]")


def test_a_line_that_no_cut_can_bring_under_the_bound_becomes_its_essentials() -> None:
    many_keys = {f"key{i}": i for i in range(10_000)}
    line = json.dumps({"level": "INFO", "message": "m", "correlation_id": "c", **many_keys})

    bounded = bounded_line(line, limit=1024)

    assert len(bounded.encode("utf-8")) <= 1024
    assert json.loads(bounded) == {
        "level": "INFO",
        "message": "m",
        "timestamp": None,
        "service": None,
        "correlation_id": "c",
        "log_truncated_from_bytes": len(line),
    }


def test_a_line_under_the_bound_is_left_as_it_is() -> None:
    line = json.dumps({"message": "m", "detail": "d" * 100})

    assert bounded_line(line) == line
