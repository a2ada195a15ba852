from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import unquote_to_bytes

import pytest

from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import (
    MAX_ENCODED_VALUE,
    NULL_PARTITION,
    encode_partition_value,
    history_key,
    is_safe_key,
    latest_key,
)

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
        ("作", "%E4%BD%9C"),
    ],
)
def test_partition_values_are_percent_encoded_like_hive(name: str, encoded: str) -> None:
    assert encode_partition_value(name) == encoded


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

    assert len(encoded_a) <= MAX_ENCODED_VALUE
    assert encoded_a != encoded_b
    assert "~" in encoded_a
    assert encoded_a.split("~")[0].count("%") * 3 == len(encoded_a.split("~")[0])


@pytest.mark.parametrize(
    "name",
    [
        "作业" * 12,  # the cut used to land inside the 13th character: %E4~<hash>
        "é" * 34,
        "a" + "é" * 40,  # an odd start shifts the boundary by one byte
        "🚀" * 17,
        "x/" * 64,
    ],
)
def test_a_cut_value_decodes_to_whole_characters_then_the_hash(name: str) -> None:
    encoded = encode_partition_value(name)

    head, _, digest = encoded.partition("~")
    decoded_head = unquote_to_bytes(head).decode("utf-8")  # strict: raises on a split character
    assert len(encoded) <= MAX_ENCODED_VALUE
    assert name.startswith(decoded_head)
    assert len(decoded_head) >= len(name) // 10
    assert digest == hashlib.sha256(name.encode()).hexdigest()[:16]
    # the next whole character would not have fitted
    next_char = name[len(decoded_head)]
    assert len(head) + len(next_char.encode()) * 3 > MAX_ENCODED_VALUE - 17


def test_a_cut_at_a_character_boundary_is_the_cut_it_always_was() -> None:
    # 61 escaped ASCII characters fill 183 places exactly: same key as before the fix.
    name = "/" * 70

    assert (
        encode_partition_value(name)
        == "%2F" * 61 + "~" + hashlib.sha256(name.encode()).hexdigest()[:16]
    )


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
