"""Hypothesis strategies for upstream bodies: any JSON, and bodies made of the
contract's known fields (well or badly typed) mixed with unknown ones."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from dlf_status.domain import normalize

# Epoch milliseconds that datetime can represent: 1970 to 2100.
READABLE_MILLIS = st.integers(min_value=0, max_value=4_102_444_800_000)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

# Neither a number nor a string with a digit (which could be a numeric or ISO time).
NOT_A_TIME = json_values.filter(
    lambda value: (
        (isinstance(value, bool) or not isinstance(value, int | float))
        and not (isinstance(value, str) and any(char.isdigit() for char in value))
    )
)

JOB_TIME_KEYS = [key for spellings in normalize.JOB_TIMES.values() for key in spellings]
JOB_TEXT_KEYS = [key for spellings in normalize.JOB_TEXTS.values() for key in spellings]
NODE_TEXT_KEYS = [key for spellings in normalize.NODE_TEXTS.values() for key in spellings]
NODE_INT_KEYS = [key for spellings in normalize.NODE_INTEGERS.values() for key in spellings]
NODE_METRIC_KEYS = [key for spellings in normalize.NODE_METRICS.values() for key in spellings]
STATUS_WORDS = st.sampled_from(
    ["NORMAL", "EXCEPTION", "STARTING", "STOPPING", "STOPPED", "PAUSE", "INIT", "normal", "weird"]
)
UNKNOWN_KEYS = st.text(min_size=1, max_size=8).filter(
    lambda key: key not in {"name", "status", "nodes", *JOB_TIME_KEYS, *JOB_TEXT_KEYS}
)


def _optional_fields(
    fields: dict[str, st.SearchStrategy[Any]],
) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


def _typed_or_not(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(good, good, json_values)


node_bodies = st.builds(
    lambda known, unknown: {**unknown, **known},
    _optional_fields(
        {
            "name": _typed_or_not(st.text(max_size=10)),
            "status": _typed_or_not(STATUS_WORDS),
            **{key: _typed_or_not(st.text(max_size=10)) for key in NODE_TEXT_KEYS},
            **{key: _typed_or_not(st.integers()) for key in NODE_INT_KEYS},
            **{
                key: _typed_or_not(st.integers(min_value=0, max_value=2**80) | st.floats(0, 1e9))
                for key in NODE_METRIC_KEYS
            },
            "runningData": st.text(max_size=20),
        }
    ),
    st.dictionaries(
        st.text(min_size=1, max_size=8).map(lambda key: "x_" + key), json_values, max_size=3
    ),
)

job_bodies = st.builds(
    lambda known, unknown: {**unknown, **known},
    _optional_fields(
        {
            "name": _typed_or_not(st.text(max_size=10)),
            "status": _typed_or_not(STATUS_WORDS),
            # Times are readable epoch milliseconds or anything that is not a number,
            # so the property test knows which values are converted.
            **{key: st.one_of(READABLE_MILLIS, NOT_A_TIME) for key in JOB_TIME_KEYS},
            **{key: _typed_or_not(st.text(max_size=10)) for key in JOB_TEXT_KEYS},
            "nodes": st.one_of(
                st.lists(node_bodies, max_size=5),
                st.lists(node_bodies | json_values, max_size=3),
                json_values,
            ),
        }
    ),
    st.dictionaries(UNKNOWN_KEYS, json_values, max_size=3),
)
