"""Properties of snapshot keys over generated names (hypothesis): two different jobs
never share a partition value, and every value decodes to the name alike in engines
that decode per byte (DuckDB, pyarrow) and per character (Hive, Spark, Trino)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import unquote_to_bytes

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.domain.model import JobRef, validate_job_name
from dlf_status.domain.snapshots import (
    MAX_ENCODED_BYTES,
    NULL_PARTITION,
    encode_partition_value,
    is_safe_key,
    latest_key,
    legacy_partition_value,
    only_earlier_releases_write,
)
from dlf_status.errors import InvalidInput
from tests.support.hive import hive_unescape

# Characters of 1 to 4 UTF-8 bytes, plus ones whose case or normal form is special,
# and the code points on each side of every boundary between escaped and raw.
TRICKY = "a_~%.-/ éÉeKİß作业🚀\u017f\u0131\u0301\u00c5\u212a\u212b\ufb01"
BOUNDARIES = (
    "\x7e\x7f\x80\x9f\xa0\ud7ff\ue000\ufdcf\ufdd0\ufdef\ufdf0\ufffd\ufffe\uffff"
    "\U00010000\U0001fffd\U0001fffe\U0001ffff\U00020000\U0010fffd\U0010fffe\U0010ffff"
    "+&,;<>|$!@`()*?'\"#{}[]^\\:="
)
# A job name as JobRef accepts it: no control characters, surrogates or line separators.
NAME_TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))
    | st.sampled_from(TRICKY)
    | st.sampled_from(BOUNDARIES),
    min_size=1,
    max_size=40,
)
NULL_LIKE = st.sampled_from(
    [NULL_PARTITION, NULL_PARTITION.lower(), "%5F_HIVE_DEFAULT_PARTITION__", NULL_PARTITION + "_"]
)


@st.composite
def near_the_cut(draw: st.DrawFn) -> str:
    """Repeats of one character whose encoding ends just before, on or after the cut."""
    char = draw(st.sampled_from(["x", "/", "é", "作", "🚀", "\u0301", "\ufdd0", "\U0010ffff"]))
    width = len(encode_partition_value(char).encode())
    around = MAX_ENCODED_BYTES // width
    count = draw(st.integers(min_value=max(1, around - 3), max_value=around + 3))
    prefix = draw(st.sampled_from(["", "a", "ab", "é"]))
    suffix = draw(st.sampled_from(["", "z", "作"]))
    return prefix + char * count + suffix


def accepted(name: str) -> str | None:
    try:
        return validate_job_name(name)
    except InvalidInput:
        return None


def variants(name: str) -> list[str]:
    """The name, its case variants, its four Unicode normal forms and near neighbours."""
    forms = [name, name.upper(), name.lower(), name.swapcase(), name.casefold()]
    forms += [unicodedata.normalize(form, name) for form in ("NFC", "NFD", "NFKC", "NFKD")]
    forms += [name + "_", name[:-1], "_" + name]
    return [form for form in forms if accepted(form) is not None]


NAMES = st.one_of(NAME_TEXT, NULL_LIKE, near_the_cut())


@settings(max_examples=400, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=6))
def test_different_names_never_share_an_encoding(seeds: list[str]) -> None:
    names = {variant for seed in seeds for variant in variants(seed)}

    encodings = {encode_partition_value(name) for name in names}

    assert len(encodings) == len(names)
    assert NULL_PARTITION not in encodings


@settings(max_examples=400, deadline=None)
@given(NAMES)
def test_every_encoding_decodes_to_the_name_or_its_documented_cut(name: str) -> None:
    if accepted(name) is None:
        return
    encoded = encode_partition_value(name)

    decoded = unquote_to_bytes(encoded).decode("utf-8")  # strict: a split character raises

    assert len(encoded.encode()) <= MAX_ENCODED_BYTES
    assert is_safe_key(f"latest/job_name={encoded}/latest.json")
    if "~" in encoded:
        head, digest = decoded[:-17], decoded[-17:]
        assert digest == "~" + hashlib.sha256(name.encode()).hexdigest()[:16]
        assert name.startswith(head)
        assert len(head) < len(name)
    else:
        assert decoded == name


def kept_escaped(char: str) -> bool:
    """The few code points beyond ASCII written escaped: C1 controls, noncharacters."""
    code = ord(char)
    return 0x80 <= code <= 0x9F or 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


@settings(max_examples=400, deadline=None)
@given(NAMES)
def test_per_character_readers_read_what_per_byte_readers_read(name: str) -> None:
    if accepted(name) is None:
        return
    encoded = encode_partition_value(name)

    per_byte = unquote_to_bytes(encoded).decode("utf-8")
    per_char = hive_unescape(encoded)

    # Equal whenever no character of the value is one of the few kept escaped.
    assert (per_char == per_byte) is not any(kept_escaped(char) for char in per_byte)
    # Only ASCII is escaped, and only what is not a letter, a digit, '-', '_' or '.'.
    raw = re.sub("%[0-9A-F]{2}", "", encoded)
    assert re.fullmatch(r"[A-Za-z0-9._~-]*", re.sub(r"[^\x00-\x7f]", "", raw))


@settings(max_examples=200, deadline=None)
@given(NAMES)
def test_a_name_of_ascii_keeps_the_key_of_earlier_releases(name: str) -> None:
    if accepted(name) is None:
        return
    encoded = encode_partition_value(name)
    moved = encoded != legacy_partition_value(name)

    if all(char.isascii() or kept_escaped(char) for char in name):
        assert not moved
    elif "~" not in encoded:
        assert moved
    # From the value alone, a reader tells an earlier release's key from this one's
    # (but for an old cut that fell before the first character beyond ASCII: that value
    # is also this release's cut of another name, and the document's name decides).
    legacy = legacy_partition_value(name)
    assert not only_earlier_releases_write(encoded)
    if only_earlier_releases_write(legacy):
        assert moved
    head = unquote_to_bytes(legacy.partition("~")[0]).decode("utf-8")
    if moved and any(not char.isascii() and not kept_escaped(char) for char in head):
        assert only_earlier_releases_write(legacy)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True) | NULL_LIKE.filter(str.isascii))
def test_only_the_default_workspace_is_the_null_partition(workspace: str) -> None:
    if "%" in workspace:
        return
    named, default = JobRef.parse("p1", "j", workspace), JobRef.parse("p1", "j")

    assert latest_key(named) != latest_key(default)
    assert "/workspace=__HIVE_DEFAULT_PARTITION__/" in latest_key(default)
