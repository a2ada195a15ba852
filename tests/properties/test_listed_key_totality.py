"""Every function that decodes a key a store lists is total (hypothesis): a key under
`latest/` is anyone's to put there (by hand, another tool, a copy), so its value may be
invalid percent-encoding, not UTF-8, or no partition at all. Such a key is no earlier
release's and stops nothing: not a tick, not a fleet read, not drift (review F1)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain.drift import job_of_key
from dlf_status.domain.model import JobRef
from dlf_status.domain.readmodels import fleet_key_job_name, moved_fleet_key
from dlf_status.domain.snapshots import (
    NULL_PARTITION,
    is_earlier_release_latest,
    is_safe_key,
    moved_job_value,
    only_earlier_releases_write,
)
from dlf_status.readers import StoreReader
from dlf_status.service import SnapshotWriter

WORKSPACE = f"latest/project_id=p1/workspace={NULL_PARTITION}/"
# Values no release writes: invalid UTF-8 (a lone continuation byte, a truncated or
# overlong sequence, an encoded surrogate), invalid escapes, a bare '%'.
STRAY_VALUES = ["%FF", "%C3", "%E4%BD", "%C0%80", "%E4%zz", "%ED%A0%80", "%", "%%", "~%FF"]

ESCAPE = st.from_regex(r"%[0-9A-Fa-fz]{0,2}", fullmatch=True)
# Raw bytes as a listing of a non-UTF-8 file name shows them (lone surrogates).
RAW_BYTES = st.binary(max_size=6).map(lambda raw: raw.decode("utf-8", errors="surrogateescape"))
PIECE = (
    ESCAPE | RAW_BYTES | st.text(max_size=6) | st.sampled_from(["=", "~", "/", "作", "job_name="])
)
VALUE = st.lists(PIECE, max_size=8).map("".join)
# Values a store keeps (is_safe_key): escapes, valid or not, among characters of keys.
STORED_PIECE = ESCAPE | st.sampled_from(["a", "Z", "0", "-", "_", ".", "~", "作", "é"])
STORED_VALUE = st.lists(STORED_PIECE, min_size=1, max_size=8).map("".join)


def clock() -> datetime:
    return datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def each_decoder(value: str) -> None:
    """Call every function that decodes a listed key's value; none may raise."""
    relative = f"job_name={value}/latest.json"
    key = WORKSPACE + relative
    assert isinstance(only_earlier_releases_write(value), bool)
    assert isinstance(is_earlier_release_latest(key), bool)
    assert moved_job_value(value, "作业") in (None, "作业")
    fleet_key_job_name(relative)
    fleet_key_job_name(value)
    moved_fleet_key(relative, "作业")
    job_of_key(f"project_id={value}/workspace={value}/job_name={value}/")
    job_of_key(value)


@given(value=VALUE)
@settings(max_examples=500, deadline=None)
def test_every_decoder_of_a_listed_key_is_total(value: str) -> None:
    each_decoder(value)


@pytest.mark.parametrize("value", STRAY_VALUES)
def test_a_value_that_does_not_decode_to_utf8_is_no_earlier_releases(value: str) -> None:
    each_decoder(value)
    assert not only_earlier_releases_write(value)
    assert not is_earlier_release_latest(f"{WORKSPACE}job_name={value}/latest.json")


def a_tick_and_a_fleet_read_over(root: Path, value: str) -> None:
    """A tick's `begin_tick` and a fleet read over a local store holding a stray key."""
    store = LocalDirectoryStore(root)
    stray = f"{WORKSPACE}job_name={value}/latest.json"
    if not is_safe_key(stray):
        return  # no store keeps it: nothing can list it
    store.replace(stray, b"{}", {}, None)
    tick = SnapshotWriter(store, sleep=lambda _: None).begin_tick([JobRef.parse("p1", "job_sms")])
    assert stray in tick.listed

    class Clock:
        def now(self) -> datetime:
            return clock()

    fleet = StoreReader(store, Clock(), workers=1).fleet("p1")
    assert [row["status"] for row in fleet["jobs"]] == ["UNKNOWN"]  # unreadable, reported


@pytest.mark.parametrize("value", STRAY_VALUES)
def test_a_stray_key_does_not_stop_a_tick_or_the_fleet(tmp_path: Path, value: str) -> None:
    a_tick_and_a_fleet_read_over(tmp_path, value)


@given(value=STORED_VALUE)
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_stray_key_does_not_stop_a_tick_or_the_fleet(
    tmp_path_factory: pytest.TempPathFactory, value: str
) -> None:
    assume(is_safe_key(f"{WORKSPACE}job_name={value}/latest.json"))
    a_tick_and_a_fleet_read_over(tmp_path_factory.mktemp("store"), value)
