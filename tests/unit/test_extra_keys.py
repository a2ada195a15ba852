from __future__ import annotations

from typing import Any

import pytest

from dlf_status.domain import jsoncodec
from dlf_status.domain.extra_keys import (
    MAX_DEPTH,
    decode_document,
    decode_extra,
    decode_key,
    encode_extra,
    encode_key,
)


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("runningdata", "runningdata"),
        ("startTime", "start^time"),
        ("starttime", "starttime"),
        ("LastInstanceStatus", "^last^instance^status"),
        ("a^b", "a^^b"),
        ("", ""),
        ("$", "$"),
        ("作业 é.1", "作业 é.1"),
        ("É", "^{c9}"),
        ("\u212a", "^{212a}"),  # the Kelvin sign folds to k
        ("ß", "^{df}"),  # casefolds to ss
        ("\u0131", "^{131}"),  # dotless i upper-cases to I
        ("\u017f", "^{17f}"),  # long s upper-cases to S
        ("\u03c2", "^{3c2}"),  # final sigma folds to the small sigma
        ("\u01c5", "^{1c5}"),  # a title-case letter
    ],
)
def test_keys_are_written_without_capitals_or_confusable_letters(key: str, encoded: str) -> None:
    assert encode_key(key) == encoded
    assert decode_key(encoded) == key


@pytest.mark.parametrize("key", ["^", "a^", "^A", "^{}", "^{zz}", "^{110000}", "^{c9"])
def test_a_malformed_escape_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="malformed escape"):
        decode_key(key)


def test_case_variants_at_one_level_stay_apart_in_any_case() -> None:
    extra = encode_extra({"startTime": 1, "starttime": 2, "STARTTIME": 3, "StartTime": 4})

    assert len({key.lower() for key in extra}) == 4
    assert decode_extra(extra) == {"startTime": 1, "starttime": 2, "STARTTIME": 3, "StartTime": 4}


def test_keys_are_encoded_at_every_depth_inside_lists_too() -> None:
    extra = encode_extra({"labels": {"Team": [{"ownerId": 1}, {"OwnerID": 2}]}})

    assert extra == {"labels": {"^team": [{"owner^id": 1}, {"^owner^i^d": 2}]}}


def nested(depth: int) -> Any:
    value: Any = {"Leaf": 1}
    for level in range(depth - 1):
        value = [value] if level % 2 else {"Down": value}
    return value


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


def test_a_deep_subtree_is_kept_as_json_text_and_comes_back() -> None:
    deep = {"Deep": nested(jsoncodec.MAX_DEPTH - 2)}  # as deep as an upstream body may be

    extra = encode_extra(deep)

    assert depth_of(extra) <= MAX_DEPTH + 1
    assert decode_extra(extra) == deep


def test_a_subtree_within_the_depth_keeps_its_structure() -> None:
    shallow = {"x": nested(MAX_DEPTH - 1)}

    extra = encode_extra(shallow)

    assert "^" not in jsoncodec.canonical_bytes(extra).decode().replace("^down", "").replace(
        "^leaf", ""
    )
    assert decode_extra(extra) == shallow


def test_decode_document_restores_job_and_node_extras_of_a_1_1_document() -> None:
    document = {
        "schema_version": "1.1",
        "extra": {"job^id": 9001},
        "nodes": [{"name": "n", "extra": {"running^data": "{}"}}],
    }

    decoded = decode_document(document)

    assert decoded["extra"] == {"jobId": 9001}
    assert decoded["nodes"] == [{"name": "n", "extra": {"runningData": "{}"}}]
    assert document["extra"] == {"job^id": 9001}  # the original is not changed


def test_a_1_0_document_was_written_verbatim_and_is_left_as_it_is() -> None:
    document = {"schema_version": "1.0", "extra": {"a^b": 1}, "nodes": []}

    assert decode_document(document) == document
