"""Properties of the normaliser over generated bodies (hypothesis)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.domain import jsoncodec, normalize
from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.extra_keys import decode_document
from dlf_status.domain.normalize import (
    JOB_TIMES,
    Source,
    content_hash,
    encode_document,
    normalise,
)
from tests.properties.strategies import (
    JOB_TEXT_KEYS,
    JOB_TIME_KEYS,
    NODE_INT_KEYS,
    NODE_METRIC_KEYS,
    NODE_TEXT_KEYS,
    job_bodies,
    json_values,
)
from tests.support.schemas import validator

DOCUMENT_SCHEMA = validator("status-document.v1.schema.json")  # strict: a stray member fails
SOURCE = Source("p1", "job", None, "https://upstream.invalid")
OBSERVED = datetime(2026, 11, 25, tzinfo=UTC)
# Keys whose null means absent (README: every mapped field but the names).
OPTIONAL_JOB_KEYS = {"status", "nodes", *JOB_TIME_KEYS, *JOB_TEXT_KEYS}
OPTIONAL_NODE_KEYS = {"status", *NODE_TEXT_KEYS, *NODE_INT_KEYS, *NODE_METRIC_KEYS}
# Integers in openapi.yaml: jobInstanceId and every counter but speed (a rate).
INTEGER_NODE_KEYS = {*NODE_INT_KEYS, *(set(NODE_METRIC_KEYS) - {"speed"})}


def run(body: Any) -> StatusDocument:
    return normalise(body, source=SOURCE, observed_at=OBSERVED, report=ValidationReport())


def leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value


def tagged(values: Iterator[Any]) -> Counter[tuple[str, Any]]:
    # The type is part of the key: 1, 1.0 and True are equal in Python, not in JSON.
    return Counter((type(value).__name__, value) for value in values)


def expected_time(millis: int) -> str:
    """Epoch milliseconds formatted independently of the code under test."""
    moment = datetime.fromtimestamp(millis // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis % 1000:03d}Z"


@settings(max_examples=300, deadline=None)
@given(json_values | job_bodies)
def test_any_json_body_normalises_without_error_to_a_schema_valid_document(body: Any) -> None:
    document = run(body)

    assert [error.message for error in DOCUMENT_SCHEMA.iter_errors(document)] == []
    assert jsoncodec.loads(jsoncodec.canonical_bytes(document)) == document


def expected_leaves(body: dict[str, Any]) -> list[Any]:
    """The leaf values the document must hold, worked out from the README's rules:
    the first spelling of a time that has a value is converted; an optional mapped
    field sent as null is absent; an integral number in an integer field is an int
    of at most MAX_INTEGER_DIGITS digits (a larger one stays as sent, in extra)."""
    converted = {
        next(key for key in spellings if body.get(key) is not None)
        for spellings in JOB_TIMES.values()
        if any(body.get(key) is not None for key in spellings)
    }
    expected: list[Any] = []
    for key, value in body.items():
        is_millis = isinstance(value, int) and not isinstance(value, bool)
        if value is None and key in OPTIONAL_JOB_KEYS:
            continue
        if key in converted and is_millis:
            expected.append(expected_time(value))
        elif key == "nodes" and isinstance(value, list):
            for node in value:
                expected.extend(
                    expected_node_leaves(node) if isinstance(node, dict) else leaves(node)
                )
        else:
            expected.extend(leaves(value))
    return expected


def expected_node_leaves(node: dict[str, Any]) -> list[Any]:
    expected: list[Any] = []
    for key, value in node.items():
        if value is None and key in OPTIONAL_NODE_KEYS:
            continue
        if (
            key in INTEGER_NODE_KEYS
            and isinstance(value, float)
            and value.is_integer()
            and len(str(abs(int(value)))) <= jsoncodec.MAX_INTEGER_DIGITS
        ):
            expected.append(int(value))
        else:
            expected.extend(leaves(value))
    return expected


@settings(max_examples=300, deadline=None)
@given(job_bodies)
def test_every_upstream_leaf_value_appears_in_the_document(body: dict[str, Any]) -> None:
    document = run(body)

    found = tagged(leaves({key: document[key] for key in ("job", "nodes", "extra")}))

    missing = tagged(iter(expected_leaves(body))) - found
    assert not missing, f"lost upstream values: {missing}"


def shuffle_objects(nodes: list[Any], rng: Any) -> list[Any]:
    """`nodes` with its objects in another order, every other entry where it was."""
    places = [index for index, entry in enumerate(nodes) if isinstance(entry, dict)]
    shuffled = list(nodes)
    objects = rng.sample([nodes[place] for place in places], len(places))
    for place, entry in zip(places, objects, strict=True):
        shuffled[place] = entry
    return shuffled


@settings(max_examples=200, deadline=None)
@given(job_bodies, st.randoms(use_true_random=False))
def test_the_same_body_in_any_node_order_gives_the_same_bytes(
    body: dict[str, Any], rng: Any
) -> None:
    nodes = body.get("nodes")
    shuffled = dict(body)
    if isinstance(nodes, list):
        shuffled["nodes"] = shuffle_objects(nodes, rng)
    first, second = run(body), run(shuffled)
    # Violation paths point at upstream positions, so only the rest must match.
    for document in (first, second):
        validation = cast("dict[str, Any]", document["validation"])
        validation["violations"] = sorted(item["message"] for item in validation["violations"])

    assert jsoncodec.canonical_bytes(first) == jsoncodec.canonical_bytes(second)
    assert content_hash(first) == content_hash(second)


@settings(max_examples=300, deadline=None)
@given(json_values | job_bodies, st.none() | st.floats(min_value=0, max_value=1e9))
def test_one_serialisation_gives_the_stored_bytes_and_the_content_hash(
    body: Any, stale_age: float | None
) -> None:
    document = run(body)
    if stale_age is not None:  # an answer served from a snapshot: same hash, its own bytes
        document["stale"], document["stale_age_seconds"] = True, stale_age

    encoded = encode_document(document)

    assert encoded.body == jsoncodec.canonical_bytes(document)
    assert encoded.content_hash == content_hash(document)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=12) | st.sampled_from(["observed_at", "stale", "stale_age_seconds"]),
        json_values,
        max_size=8,
    )
)
def test_any_object_encodes_to_its_canonical_bytes_and_hashes_by_the_definition(
    obj: dict[str, Any],
) -> None:
    """Whatever the keys (beyond ASCII, volatile or not) and values (integers past 64
    bits choose the other encoder), the members joined are the whole object's bytes."""
    encoded = encode_document(obj)

    assert encoded.body == jsoncodec.canonical_bytes(obj)
    assert encoded.content_hash == content_hash(obj)


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, max_size=6))
def test_node_entries_that_are_not_objects_are_kept_in_the_order_sent(nodes: list[Any]) -> None:
    document = run({"name": "j", "nodes": nodes})

    kept = [entry for entry in nodes if not isinstance(entry, dict)]
    decoded = decode_document(document)
    assert decoded["extra"].get("nodes", []) == kept
    assert document["summary"]["node_count"] == len(nodes) - len(kept)


_READ = normalize._read


def _read_carefully(
    obj: Any, rules: Any, destinations: Any, problems: Any, node_index: int | None
) -> dict[str, Any]:
    """`_read` without its shortcut: every known key through `_read_slowly`."""
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        rule = rules.get(key)
        if rule is None:
            extra[key] = value
        else:
            normalize._read_slowly(obj, key, value, rule, destinations, extra, problems, node_index)
    _READ({}, rules, destinations, problems, node_index)  # the status, from the fields read
    return extra


@settings(max_examples=300, deadline=None)
@given(job_bodies)
def test_the_shortcut_for_common_keys_gives_the_careful_document(body: dict[str, Any]) -> None:
    # Bodies with both spellings of a field, nulls and values of the wrong kind:
    # the shortcut (the right kind, no other spelling present) must change nothing.
    fast = jsoncodec.canonical_bytes(run(body))
    with mock.patch.object(normalize, "_read", _read_carefully):
        careful = jsoncodec.canonical_bytes(run(body))

    assert fast == careful
