"""Any value in a time field: either the document's time is the same instant as
the value, or the value is kept verbatim in `extra` (hypothesis).

The instant a value stands for is worked out here from the contract's own patterns
(openapi.yaml, `Timestamp`) with exact arithmetic, not by the code under test."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import packaged_contract
from dlf_status.domain.extra_keys import decode_extra
from dlf_status.domain.model import Headers, UpstreamResponse
from dlf_status.domain.normalize import JOB_TIMES, Source, normalise
from tests.properties.strategies import json_values

ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP = json.loads((ROOT / "handler" / "dlf_status" / "spec" / "openapi.json").read_text())[
    "components"
]["schemas"]["Timestamp"]
EPOCH_PATTERN, ISO_PATTERN = (
    re.compile(form["pattern"]) for form in TIMESTAMP["anyOf"] if "pattern" in form
)
VALIDATOR = CompiledValidator(packaged_contract())
SOURCE = Source("p1", "job", None, "https://upstream.invalid")
OBSERVED = datetime(2026, 5, 4, tzinfo=UTC)
TIME_KEYS = st.sampled_from(
    [(key, field) for field, spellings in JOB_TIMES.items() for key in spellings]
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MISSING = object()


def observe(body: dict[str, Any]) -> dict[str, Any]:
    raw = jsoncodec.canonical_bytes(body)
    response = UpstreamResponse(200, Headers({"Content-Type": "application/json"}), raw)
    return normalise(
        body, source=SOURCE, observed_at=OBSERVED, report=VALIDATOR.validate(response, body)
    )


def millis_of(document_time: str) -> Fraction:
    """The instant of a document time (RFC 3339, UTC, milliseconds), in milliseconds."""
    moment = datetime.strptime(document_time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return Fraction((moment - EPOCH) // timedelta(microseconds=1), 1000)


def contract_instant(value: Any) -> Fraction | None:
    """The instant `value` stands for, in milliseconds, if the contract accepts it
    as a time; None if it does not (or names no real calendar time)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(value) if value.is_integer() else None
    if isinstance(value, str) and EPOCH_PATTERN.search(value):
        return Fraction(int(value))
    return None


def time_field_outcome(key: str, field: str, value: Any) -> tuple[Any, Any, dict[str, Any]]:
    document = observe({"name": "j", key: value})
    kept = decode_extra(document["extra"]).get(key, MISSING)
    return document["job"][field], kept, document


def check_exact_or_kept(key: str, field: str, value: Any) -> None:
    converted, kept, document = time_field_outcome(key, field, value)
    instant = contract_instant(value)
    if value is None:  # null is absence: nothing to keep, nothing wrong
        assert (converted, kept, document["validation"]["valid"]) == (None, MISSING, True)
        return

    if converted is not None and kept is MISSING:
        assert millis_of(converted) == instant
    else:
        # kept verbatim, type included (1 and 1.0 differ in JSON)
        assert (type(kept), kept) == (type(value), value)
    if instant is None:
        assert converted is None
    # valid exactly when the value is a time the document holds
    assert document["validation"]["valid"] is (converted is not None)
    if converted is None:
        assert f"$.{key}" in [item["path"] for item in document["validation"]["violations"]]


decorations = st.sampled_from(["", "", "", " ", "\t", "\n", "+", "-", "0", "00", "\u00a0"])
epoch_numbers = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.integers(min_value=-62135596800000, max_value=253402300799999)
    | st.floats(allow_nan=False)
    | st.integers(min_value=-(2**52), max_value=2**52).map(float)
    | st.integers(min_value=-(2**52), max_value=2**52).map(lambda millis: millis + 0.5)
)
epoch_texts = st.builds(
    lambda before, number, after: f"{before}{number}{after}",
    decorations,
    st.integers(min_value=-(10**22), max_value=10**22),
    decorations,
)


@settings(max_examples=400, deadline=None)
@given(TIME_KEYS, epoch_numbers | epoch_texts | json_values)
def test_an_epoch_value_converts_to_the_same_instant_or_is_kept_in_extra(
    key_and_field: tuple[str, str], value: Any
) -> None:
    check_exact_or_kept(*key_and_field, value)
