"""Properties of the keys inside `extra` (hypothesis): no two different upstream keys
fold to one name under any common case folding, and everything comes back."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.extra_keys import (
    MAX_KEY_LENGTH,
    _escape,
    decode_document,
    decode_extra,
    decode_key,
    encode_extra,
    encode_key,
)
from dlf_status.domain.normalize import (
    JOB_TEXTS,
    JOB_TIMES,
    NODE_INTEGERS,
    NODE_METRICS,
    NODE_TEXTS,
    Source,
    normalise,
)
from tests.properties.strategies import job_bodies, json_scalars

# Letters whose case mappings are irregular, beside whatever hypothesis draws.
CONFUSABLE = "aAkKsSiIß\u212a\u017f\u0131\u0130\u03c3\u03c2\u03a3\u01c4\u01c5\u01c6^{}ǰ\u1e9e"
KEYS = st.text(alphabet=st.characters(codec=None) | st.sampled_from(CONFUSABLE), max_size=12)
MAPPED_JOB_KEYS = {
    "name",
    "status",
    "nodes",
    *(k for s in (*JOB_TIMES.values(), *JOB_TEXTS.values()) for k in s),
}
MAPPED_NODE_KEYS = {
    "name",
    "status",
    *(k for t in (NODE_TEXTS, NODE_INTEGERS, NODE_METRICS) for s in t.values() for k in s),
}


def case_variants(key: str) -> set[str]:
    return {key, key.lower(), key.upper(), key.swapcase(), key.casefold(), key.title()}


def foldings(key: str) -> dict[str, str]:
    """How engines compare names: DuckDB folds ASCII only, others fold Unicode."""
    return {
        "ascii": key.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass"),
        "lower": key.lower(),
        "upper": key.upper(),
        "casefold": key.casefold(),
    }


@settings(max_examples=500, deadline=None)
@given(st.lists(KEYS, max_size=5))
def test_different_keys_never_fold_to_one_name(seeds: list[str]) -> None:
    keys = {variant for seed in seeds for variant in case_variants(seed)}
    encoded = [encode_key(key) for key in keys]

    for folding in ("ascii", "lower", "upper", "casefold"):
        assert len({foldings(key)[folding] for key in encoded}) == len(keys), folding


@settings(max_examples=500, deadline=None)
@given(KEYS)
def test_every_key_decodes_to_itself(key: str) -> None:
    assert decode_key(encode_key(key)) == key


DEEP_JSON = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=2) | st.dictionaries(KEYS, children, max_size=2),
    max_leaves=80,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, DEEP_JSON, max_size=4))
def test_any_extra_tree_comes_back_exactly(extra: dict[str, Any]) -> None:
    encoded = encode_extra(extra)

    assert jsoncodec.canonical_bytes(decode_extra(encoded)) == jsoncodec.canonical_bytes(extra)


def items(mapping: dict[str, Any], skip: set[str]) -> Counter[bytes]:
    """Each (key, value) pair as canonical bytes: 1, 1.0 and true stay apart."""
    return Counter(
        jsoncodec.canonical_bytes([key, value]) for key, value in mapping.items() if key not in skip
    )


@settings(max_examples=300, deadline=None)
@given(job_bodies)
def test_decoded_extras_hold_every_unmapped_key_and_value_as_sent(body: dict[str, Any]) -> None:
    document = normalise(
        body,
        source=Source("p1", "job", None, None),
        observed_at=datetime(2026, 11, 25, tzinfo=UTC),
        report=ValidationReport(),
    )

    decoded = decode_document(document)

    assert items(body, MAPPED_JOB_KEYS) <= items(decoded["extra"], set())
    nodes = body.get("nodes")
    if isinstance(nodes, list):
        sent = sum(
            (items(node, MAPPED_NODE_KEYS) for node in nodes if isinstance(node, dict)), Counter()
        )
        kept = sum((items(node["extra"], set()) for node in decoded["nodes"]), Counter())
        assert sent <= kept


def _by_definition(key: str) -> str:
    """The encoding applied one character at a time, as the module docstring defines it."""
    return "".join(_escape(char) for char in key)


# Keys long enough to cross the encoder's chunks, made of runs of one character: the
# runs put confusable letters, capitals and a final sigma at chunk boundaries.
LONG_KEYS = st.lists(
    st.tuples(
        st.characters(codec=None) | st.sampled_from(CONFUSABLE + "σΣ "),
        st.integers(min_value=1, max_value=3000),
    ),
    min_size=1,
    max_size=8,
).map(lambda runs: "".join(char * count for char, count in runs))


@settings(max_examples=300, deadline=None)
@given(KEYS | LONG_KEYS)
def test_the_chunked_encoder_writes_what_the_definition_writes(key: str) -> None:
    assert encode_key(key) == _by_definition(key)


@settings(max_examples=200, deadline=None)
@given(LONG_KEYS)
def test_an_encoded_key_is_at_most_three_times_its_utf8_size(key: str) -> None:
    """The expansion the bounds on one answer count with (README: What bounds memory)."""
    assert len(encode_key(key)) <= 3 * len(key.encode("utf-8", "surrogatepass"))


# Keys around the length past which the object holding one is kept as its text.
KEYS_AROUND_THE_LENGTH = st.builds(
    lambda seed, length: (seed * length)[:length],
    st.text(alphabet=st.sampled_from("aA^É\U00010400"), min_size=1, max_size=3),
    st.integers(min_value=MAX_KEY_LENGTH - 1, max_value=MAX_KEY_LENGTH + 2),
)
# Keys as a parsed answer can hold them: `jsoncodec.loads` refuses a lone surrogate, and
# an object kept as its text is read back with it.
KEYS_AS_PARSED = st.text(
    alphabet=st.characters(codec="utf-8") | st.sampled_from(CONFUSABLE), max_size=12
)
TREES_WITH_LONG_KEYS = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=2)
        | st.dictionaries(KEYS_AS_PARSED | KEYS_AROUND_THE_LENGTH, children, max_size=2)
    ),
    max_leaves=12,
)


def _keys(value: Any) -> list[str]:
    """Every encoded key of a tree, those inside JSON text (`{"^": text}`) left out."""
    if isinstance(value, dict) and list(value) == ["^"] and isinstance(value["^"], str):
        return []
    if isinstance(value, dict):
        return [*value, *(key for item in value.values() for key in _keys(item))]
    if isinstance(value, list):
        return [key for item in value for key in _keys(item)]
    return []


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYS_AS_PARSED | KEYS_AROUND_THE_LENGTH, TREES_WITH_LONG_KEYS, max_size=3))
def test_objects_with_long_keys_are_kept_as_text_and_come_back(extra: dict[str, Any]) -> None:
    encoded = encode_extra(extra)

    assert jsoncodec.canonical_bytes(decode_extra(encoded)) == jsoncodec.canonical_bytes(extra)
    # No key of the encoded tree comes from a key past the length.
    assert all(len(decode_key(key)) <= MAX_KEY_LENGTH for key in _keys(encoded))
