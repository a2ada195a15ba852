"""A violation quotes the value it is about as compact JSON, cut with the message
(README: What bounds memory): the validator renders no more of the value than the
message keeps, whatever its size, and gives the message it always gave."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status import bootstrap
from dlf_status.domain.contract import Violation
from dlf_status.domain.model import Headers, UpstreamResponse
from tests.properties.strategies import json_values

VALIDATOR = bootstrap.build_validator()
TYPE_MESSAGE = ' is not of types "null", "string"'
# Long and awkward text: what a message must cut, and what escaping lengthens.
LONG_TEXT = st.builds(
    lambda char, count: char * count,
    st.sampled_from(["a", "\n", '"', "\u2028", "\U0001f600", "é"]),
    st.integers(min_value=250, max_value=5000),
)
VALUES = st.recursive(
    json_values | LONG_TEXT,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5) | LONG_TEXT, children, max_size=3)
    ),
    max_leaves=10,
).filter(lambda value: value is not None and not isinstance(value, str))


def _violation_at(path: str, body: dict[str, Any]) -> str:
    response = UpstreamResponse(200, Headers({"Content-Type": "application/json"}), b"{}")
    report = VALIDATOR.validate(response, body)
    return next(v.message for v in report.violations if v.path == path)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_a_violation_quotes_the_value_as_compact_json_cut_with_the_message(value: Any) -> None:
    message = _violation_at("$.createUser", {"name": "job", "createUser": value})

    assert message == Violation.of("$", _compact(value) + TYPE_MESSAGE).message


# Values jsonschema-rs and Python spell alike (floats are written differently: 1e-7).
def _no_floats(value: Any) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(_no_floats(item) for item in value.values())
    if isinstance(value, list):
        return all(_no_floats(item) for item in value)
    return True


PLAIN = jsonschema_rs.Draft202012Validator({"type": ["null", "string"]})


@settings(max_examples=200, deadline=None)
@given(VALUES.filter(_no_floats))
def test_the_message_is_the_one_the_validator_writes_quoting_the_whole_value(value: Any) -> None:
    [error] = PLAIN.iter_errors(value)

    assert _violation_at("$.createUser", {"name": "job", "createUser": value}) == (
        Violation.of("$", error.message).message
    )
