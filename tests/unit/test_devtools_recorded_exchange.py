"""A recorded exchange that would lose a value is bad input, never read as one of
its readings: a body beside a body_text, a header named twice in different case."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlf_status.errors import InvalidInput
from dlf_status.recorded import exchange_from_json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
HEADER_NAMES = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)


@given(body=JSON_VALUES, body_text=st.text(max_size=40))
def test_a_body_beside_a_body_text_is_refused_whatever_they_hold(body: Any, body_text: str) -> None:
    exchange = {"status": 200, "headers": {}, "body": body, "body_text": body_text}
    with pytest.raises(InvalidInput, match="body or body_text, not both"):
        exchange_from_json(exchange)


@given(name=HEADER_NAMES.filter(lambda name: name.lower() != name.upper()), values=st.data())
def test_a_header_named_twice_in_different_case_is_refused(name: str, values: Any) -> None:
    other = name.swapcase() if name.swapcase() != name else name.upper()
    if other == name:
        other = name.lower()
    first, second = values.draw(st.text(max_size=10)), values.draw(st.text(max_size=10))
    exchange = {"status": 200, "headers": {name: first, other: second}, "body": {}}
    with pytest.raises(InvalidInput, match="twice \\(header names ignore case\\)"):
        exchange_from_json(exchange)


@given(names=st.sets(HEADER_NAMES.map(str.lower), max_size=6))
def test_headers_of_distinct_names_are_all_kept(names: set[str]) -> None:
    headers = {name: f"value of {name}" for name in names}
    exchange = exchange_from_json({"status": 200, "headers": headers, "body": {}})
    assert dict(exchange.headers) == headers


@pytest.mark.parametrize(
    "exchange",
    [
        {
            "status": 200,
            "headers": {"Content-Type": "application/json"},
            "body": {"a": 1},
            "body_text": '{"a": 2}',
        },
        {
            "status": 200,
            "headers": {"Content-Type": "application/json", "content-type": "text/plain"},
            "body": {},
        },
    ],
    ids=["body and body_text", "Content-Type twice"],
)
@pytest.mark.parametrize("command", ["validate", "normalize"])
def test_the_cli_refuses_it_in_one_line_with_exit_2(
    exchange: dict[str, Any], command: str, tmp_path: Path
) -> None:
    path = tmp_path / "exchange.json"
    path.write_text(json.dumps(exchange), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "dlf_status.entrypoints.cli", command, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert "would be lost" in lines[0]
