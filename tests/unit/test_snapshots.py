from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import unquote_to_bytes

import pytest

from dlf_status.config import MAX_S3_KEY_BYTES, MAX_S3_PREFIX_BYTES
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import (
    ENCODED_VALUE,
    MAX_ENCODED_BYTES,
    NULL_PARTITION,
    encode_partition_value,
    freshness_key,
    history_key,
    is_safe_key,
    latest_key,
    legacy_partition_value,
    moved_latest_key,
    staged_transition_key,
    transition_key,
)
from tests.support.hive import hive_unescape

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
SLOT = datetime(2026, 11, 25, 8, 54, 15, 123456, tzinfo=UTC)
HASH = "ab" * 32


def test_keys_are_hive_style_partitions() -> None:
    job = JobRef.parse(PROJECT, "job_sms", "ws1")

    assert history_key(job, SLOT, HASH) == (
        f"history/project_id={PROJECT}/workspace=ws1/job_name=job_sms/date=2026-11-25/"
        f"20261125T085415123Z-{HASH[:16]}.json"
    )
    assert (
        latest_key(job) == f"latest/project_id={PROJECT}/workspace=ws1/job_name=job_sms/latest.json"
    )


def test_no_workspace_is_the_hive_null_partition() -> None:
    assert "/workspace=__HIVE_DEFAULT_PARTITION__/" in latest_key(JobRef.parse(PROJECT, "j"))


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("job_sms", "job_sms"),
        ("a/b", "a%2Fb"),
        ("..a", "..a"),
        ("%2F", "%252F"),
        ("a=b", "a%3Db"),
        ("a b", "a%20b"),
        ("~x", "%7Ex"),
        ("a*b?c", "a%2Ab%3Fc"),
        ("a'b\"c#d", "a%27b%22c%23d"),
        ("{[^]}", "%7B%5B%5E%5D%7D"),
        ("a\\b", "a%5Cb"),
        ("作业", "作业"),
        ("café", "café"),
        ("🚀", "🚀"),
        ("\u00a0", "\u00a0"),  # the first code point kept raw
        ("\u0085", "%C2%85"),  # C1 controls stay escaped
        ("\ufdd0x", "%EF%B7%90x"),  # noncharacters too
        ("\ufffe", "%EF%BF%BE"),
        ("\U0001ffff", "%F0%9F%BF%BF"),
        ("\ufffd", "\ufffd"),
        ("\U0010fffd", "\U0010fffd"),
    ],
)
def test_partition_values_escape_ascii_like_hive_and_keep_the_rest(name: str, encoded: str) -> None:
    assert encode_partition_value(name) == encoded


@pytest.mark.parametrize("name", ["作业", "café", "a/作", "🚀 x", "100%作"])
def test_hive_spark_and_trino_decode_a_value_to_the_name(name: str) -> None:
    # Their unescapePathName turns each %XX into one character: right for ASCII only.
    encoded = encode_partition_value(name)

    assert hive_unescape(encoded) == name
    assert unquote_to_bytes(encoded).decode("utf-8") == name


@pytest.mark.parametrize("name", ["a/../../etc", "..a/..", "x/y/z", "%2e%2e", "a\\b", "作" * 128])
def test_no_job_name_can_leave_its_prefix(name: str) -> None:
    job = JobRef.parse(PROJECT, name)

    for key in (latest_key(job), history_key(job, SLOT, HASH)):
        assert is_safe_key(key)
        segments = key.split("/")
        assert segments[3] == f"job_name={encode_partition_value(name)}"
        assert len(segments) == (5 if key.startswith("latest/") else 6)


def test_an_overlong_value_is_cut_and_hashed_without_colliding() -> None:
    long_a, long_b = "作" * 100 + "a", "作" * 100 + "b"

    encoded_a, encoded_b = encode_partition_value(long_a), encode_partition_value(long_b)

    assert len(encoded_a.encode()) <= MAX_ENCODED_BYTES
    assert encoded_a != encoded_b
    # 61 characters of 3 bytes fill the 183 bytes before '~' and the hash
    assert encoded_a.split("~")[0] == "作" * 61


def test_the_cut_counts_bytes_not_characters() -> None:
    # 67 characters of 3 bytes: 201 bytes, cut although only 67 characters long
    assert "~" in encode_partition_value("作" * 67)
    assert encode_partition_value("作" * 66) == "作" * 66


@pytest.mark.parametrize(
    "name",
    [
        "作业" * 34,
        "é" * 101,
        "a" + "é" * 100,  # an odd start shifts the boundary by one byte
        "🚀" * 51,
        "x/" * 64,
        "/" + "作" * 127,  # escapes and raw characters mixed
        "\ufdd0" * 30,  # kept escaped: 9 bytes each
    ],
)
def test_a_cut_value_decodes_to_whole_characters_then_the_hash(name: str) -> None:
    encoded = encode_partition_value(name)

    head, _, digest = encoded.partition("~")
    decoded_head = unquote_to_bytes(head).decode("utf-8")  # strict: raises on a split character
    assert len(encoded.encode()) <= MAX_ENCODED_BYTES
    assert name.startswith(decoded_head)
    # A per-character reader reads the head right, but for the few code points kept
    # escaped beyond ASCII (the README says so), which it garbles.
    escaped_beyond_ascii = any(
        not char.isascii() and "%" in encode_partition_value(char) for char in name
    )
    assert (hive_unescape(head) == decoded_head) is not escaped_beyond_ascii
    assert len(decoded_head) >= len(name) // 10
    assert digest == hashlib.sha256(name.encode()).hexdigest()[:16]
    # the next whole character would not have fitted
    next_char = name[len(decoded_head)]
    assert len(head.encode()) + len(encode_partition_value(next_char).encode()) > (
        MAX_ENCODED_BYTES - 17
    )


def test_a_cut_at_a_character_boundary_is_the_cut_it_always_was() -> None:
    # 61 escaped ASCII characters fill 183 places exactly: same key as before the fix.
    name = "/" * 70

    assert (
        encode_partition_value(name)
        == "%2F" * 61 + "~" + hashlib.sha256(name.encode()).hexdigest()[:16]
    )


@pytest.mark.parametrize("name", ["job_sms", "a/b c", "/" * 70, "x" * 128, NULL_PARTITION])
def test_names_of_ascii_keep_the_keys_of_earlier_releases(name: str) -> None:
    job = JobRef.parse(PROJECT, name)

    assert encode_partition_value(name) == legacy_partition_value(name)
    assert moved_latest_key(job) is None


def test_a_name_beyond_ascii_moved_from_its_percent_encoded_key() -> None:
    job = JobRef.parse(PROJECT, "作业", "ws1")

    assert moved_latest_key(job) == (
        f"latest/project_id={PROJECT}/workspace=ws1/job_name=%E4%BD%9C%E4%B8%9A/latest.json"
    )
    assert latest_key(job) == f"latest/project_id={PROJECT}/workspace=ws1/job_name=作业/latest.json"


def test_the_longest_keys_fit_in_an_s3_key_below_the_longest_prefix() -> None:
    # The longest values JobRef accepts: 64-character ids, and a job name of 128
    # noncharacters, each 12 bytes escaped: cut to MAX_ENCODED_BYTES.
    job = JobRef.parse("p" * 64, "\U0010ffff" * 128, "w" * 64)
    assert "~" in encode_partition_value(job.job_name)

    keys = [
        latest_key(job),
        history_key(job, SLOT, HASH),
        transition_key(job, SLOT, HASH),
        staged_transition_key(job, SLOT, HASH, HASH),
        freshness_key(job.project_id, job.workspace, SLOT, "tick"),
    ]

    longest = max(len(key.encode()) for key in keys)
    assert longest <= MAX_S3_KEY_BYTES - MAX_S3_PREFIX_BYTES - 1
    assert all(len(segment.encode()) <= 255 for key in keys for segment in key.split("/"))


@pytest.mark.parametrize("field", ["project_id", "workspace", "job_name"])
def test_no_value_is_the_null_partition(field: str) -> None:
    values = {"project_id": PROJECT, "workspace": "ws1", "job_name": "j", field: NULL_PARTITION}
    job = JobRef.parse(values["project_id"], values["job_name"], values["workspace"])

    key = latest_key(job)

    assert f"{field}=%5F_HIVE_DEFAULT_PARTITION__/" in key
    assert NULL_PARTITION not in key.replace("%5F_HIVE", "")
    assert unquote_to_bytes("%5F_HIVE_DEFAULT_PARTITION__").decode() == NULL_PARTITION


def test_a_workspace_named_like_the_null_partition_is_not_the_default_workspace() -> None:
    named = JobRef.parse(PROJECT, "j", NULL_PARTITION)
    default = JobRef.parse(PROJECT, "j")

    assert latest_key(named) != latest_key(default)
    assert history_key(named, SLOT, HASH) != history_key(default, SLOT, HASH)


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "latest/../../x",
        "a//b",
        "/abs",
        "a/./b",
        "a/b c",
        "a/b\nc",
        "",
        "history/x=..%2F/..",
    ],
)
def test_unsafe_keys_are_recognised(key: str) -> None:
    assert not is_safe_key(key)


# README "Encoding": the kept-escaped code points a per-character reader reads as
# another name, written out here, not derived from the encoder.
READ_AS_ANOTHER_NAME = [
    *range(0xFDE0, 0xFDF0),
    0xFFFE,
    0xFFFF,
    *(plane << 16 | low for plane in (2, 3, 6, 7, 10, 11, 14, 15) for low in (0xFFFE, 0xFFFF)),
]


def test_the_readme_names_every_code_point_a_per_character_reader_reads_as_another_name() -> None:
    found = []
    for point in [*range(0x80, 0xD800), *range(0xE000, 0x110000)]:
        char = chr(point)
        if encode_partition_value(char) == char:
            continue  # kept raw: every reader reads it as it is
        garbled = char.encode().decode("latin-1")  # what a per-character reader shows
        named, other = encode_partition_value("x" + char), encode_partition_value("x" + garbled)
        if named != other and hive_unescape(named) == hive_unescape(other):
            found.append(point)
    assert len(READ_AS_ANOTHER_NAME) == 34
    assert found == READ_AS_ANOTHER_NAME


def _kept_raw(code: int) -> bool:
    """The README's rule ("Encoding"), written apart from the module's patterns."""
    if code < 0x80:
        return chr(code).isalnum() or chr(code) in "._-"
    surrogate = 0xD800 <= code <= 0xDFFF
    noncharacter = 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE
    return code >= 0xA0 and not surrogate and not noncharacter


def test_every_code_point_is_kept_or_escaped_as_the_readme_says() -> None:
    """All 1,114,112 of them: the patterns are written as the escaped ranges (cheap to
    compile at a cold start), so a range written one off would show here."""
    value_pattern = re.compile(ENCODED_VALUE)
    wrong: list[str] = []
    for code in range(0x110000):
        char = chr(code)
        if char == ".":  # a lone dot is never a segment of its own: escaped whole
            continue
        escaped = "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        expected = char if _kept_raw(code) else escaped
        if encode_partition_value(char) != expected:
            wrong.append(f"U+{code:04X} encoded as {encode_partition_value(char)!r}")
        # What a key's value may hold: what is kept, and the escapes' `%` and the cut's `~`.
        if bool(value_pattern.fullmatch(char)) != (_kept_raw(code) or char in "%~"):
            wrong.append(f"U+{code:04X} misread by ENCODED_VALUE")
    assert wrong == []
