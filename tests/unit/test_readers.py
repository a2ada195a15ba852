"""The store reader on the memory store: what it lists, what it reads, what it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlf_status import readers
from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import StoredObject
from dlf_status.domain.readmodels import FleetDocument
from dlf_status.domain.snapshots import history_key, latest_key
from dlf_status.errors import InvalidInput, ReadLimitExceeded, StoreError
from dlf_status.readers import StoreReader
from tests.support.fakes import MemoryStore
from tests.support.read_models import assert_valid, observe

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@dataclass
class FixedClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


def job(name: str, workspace: str | None = None) -> JobRef:
    return JobRef.parse(PROJECT, name, workspace)


def reader(store: MemoryStore, now: datetime = START, **options: Any) -> StoreReader:
    return StoreReader(store, FixedClock(now), workers=1, **options)


def fleet(store_reader: StoreReader, workspace: str | None = None, **options: Any) -> FleetDocument:
    document = store_reader.fleet(PROJECT, workspace, **options)
    assert_valid(document, "fleet.v1.schema.json")
    return document


def all_pages(store_reader: StoreReader, **options: Any) -> list[FleetDocument]:
    pages = [fleet(store_reader, **options)]
    while pages[-1]["next_cursor"] is not None:
        assert len(pages) < 100
        pages.append(fleet(store_reader, cursor=pages[-1]["next_cursor"], **options))
    return pages


# --- the fleet -----------------------------------------------------------------------


def fill(store: MemoryStore, statuses: dict[str, str], moment: datetime = START) -> None:
    for name, status in statuses.items():
        observe(store, job(name), status, moment)


def test_the_fleet_has_a_row_per_job_and_counts_them() -> None:
    store = MemoryStore()
    fill(store, {"b": "NORMAL", "a": "EXCEPTION", "c": "PAUSE"}, START - timedelta(seconds=30))

    document = fleet(reader(store), stale_after=60)

    assert [row["job_name"] for row in document["jobs"]] == ["a", "b", "c"]
    assert [(row["status"], row["status_raw"]) for row in document["jobs"]] == [
        ("EXCEPTION", "EXCEPTION"),
        ("NORMAL", "NORMAL"),
        ("STOPPED", "PAUSE"),
    ]
    assert {row["age_seconds"] for row in document["jobs"]} == {30.0}
    assert document["summary"]["overall"] == "EXCEPTION"
    assert document["summary"]["jobs_by_status"]["STOPPED"] == 1
    assert (document["summary"]["job_count"], document["summary"]["stale"]) == (3, 0)
    assert (document["kind"], document["project_id"], document["workspace"]) == (
        "fleet",
        PROJECT,
        None,
    )
    assert document["generated_at"] == "2026-11-25T08:00:00.000Z"


def test_a_workspace_is_a_fleet_of_its_own() -> None:
    store = MemoryStore()
    observe(store, job("shared"), "NORMAL", START)
    observe(store, job("shared", "ws1"), "EXCEPTION", START)
    observe(store, job("only_ws1", "ws1"), "NORMAL", START)

    default = fleet(reader(store))
    ws1 = fleet(reader(store), "ws1")

    assert [(row["job_name"], row["status"]) for row in default["jobs"]] == [("shared", "NORMAL")]
    assert [(row["job_name"], row["status"]) for row in ws1["jobs"]] == [
        ("only_ws1", "NORMAL"),
        ("shared", "EXCEPTION"),
    ]
    assert ws1["workspace"] == "ws1"


def test_a_filter_selects_rows_and_leaves_the_summary_whole() -> None:
    store = MemoryStore()
    fill(store, {f"job{n:02}": ("EXCEPTION" if n % 4 == 0 else "NORMAL") for n in range(12)})

    document = fleet(reader(store), statuses=frozenset({"EXCEPTION", "UNKNOWN"}))

    assert [row["job_name"] for row in document["jobs"]] == ["job00", "job04", "job08"]
    assert document["summary"]["job_count"] == 12
    assert document["status_filter"] == ["EXCEPTION", "UNKNOWN"]


def test_an_empty_status_filter_is_no_filter() -> None:
    store = MemoryStore()
    fill(store, {"a": "NORMAL", "b": "EXCEPTION"})

    document = fleet(reader(store), statuses=frozenset())

    assert [row["job_name"] for row in document["jobs"]] == ["a", "b"]
    assert document["status_filter"] is None


def test_pages_follow_the_cursor_through_every_row_once() -> None:
    store = MemoryStore()
    names = [f"job{n:03}" for n in range(57)]
    fill(store, {name: "NORMAL" for name in names})

    pages = all_pages(reader(store), limit=10)

    assert [len(page["jobs"]) for page in pages] == [10, 10, 10, 10, 10, 7]
    assert [row["job_name"] for page in pages for row in page["jobs"]] == names
    assert {page["summary"]["job_count"] for page in pages} == {57}


def test_pages_with_a_filter_hold_only_matching_rows() -> None:
    store = MemoryStore()
    statuses = {f"job{n:03}": ("STOPPED" if n % 3 else "EXCEPTION") for n in range(30)}
    fill(store, statuses)

    pages = all_pages(reader(store), limit=4, statuses=frozenset({"EXCEPTION"}))

    expected = [name for name, status in statuses.items() if status == "EXCEPTION"]
    assert [row["job_name"] for page in pages for row in page["jobs"]] == expected
    assert len(pages) == 3


def test_a_page_stays_right_while_jobs_appear_and_change() -> None:
    store = MemoryStore()
    fill(store, {"b": "NORMAL", "d": "NORMAL", "f": "NORMAL", "h": "NORMAL"})
    store_reader = reader(store)
    first = fleet(store_reader, limit=2)

    fill(store, {"a": "NORMAL", "e": "EXCEPTION"}, START + timedelta(seconds=1))
    observe(store, job("f"), "EXCEPTION", START + timedelta(seconds=1))
    second = fleet(store_reader, limit=2, cursor=first["next_cursor"])

    assert [row["job_name"] for row in first["jobs"]] == ["b", "d"]
    assert [(row["job_name"], row["status"]) for row in second["jobs"]] == [
        ("e", "EXCEPTION"),
        ("f", "EXCEPTION"),
    ]
    assert second["summary"]["job_count"] == 6


def test_fail_on_looks_at_the_whole_fleet_not_the_page() -> None:
    store = MemoryStore()
    fill(store, {"a": "NORMAL", "b": "NORMAL", "z": "EXCEPTION"})

    document = fleet(reader(store), limit=1, fail_on=frozenset({"EXCEPTION"}))
    filtered = fleet(reader(store), statuses=frozenset({"NORMAL"}), fail_on=frozenset({"STOPPED"}))

    assert [row["job_name"] for row in document["jobs"]] == ["a"]
    assert (document["failing"], document["fail_on"]) == (True, ["EXCEPTION"])
    assert filtered["failing"] is False


def test_staleness_is_counted_against_stale_after() -> None:
    store = MemoryStore()
    observe(store, job("fresh"), "NORMAL", START - timedelta(seconds=100))
    observe(store, job("old"), "NORMAL", START - timedelta(seconds=1000))

    document = fleet(reader(store), stale_after=900, fail_on=frozenset({"STALE"}))

    assert [(row["job_name"], row["stale"]) for row in document["jobs"]] == [
        ("fresh", False),
        ("old", True),
    ]
    assert (document["summary"]["stale"], document["failing"]) == (1, True)


def test_a_warm_reader_reads_only_what_changed() -> None:
    store = MemoryStore()
    fill(store, {f"job{n:03}": "NORMAL" for n in range(200)})
    store_reader = reader(store)
    fleet(store_reader)
    assert store_reader.last_cost.reads == 200

    for name in ("job007", "job100", "job199"):
        observe(store, job(name), "EXCEPTION", START + timedelta(seconds=5))
    store.reads.clear()
    listings = store.listings
    document = fleet(store_reader)

    assert store.listings - listings == 2  # latest/, and freshness/
    assert sorted(store.reads) == sorted(
        latest_key(job(name)) for name in ("job007", "job100", "job199")
    )
    assert store_reader.last_cost.cache_hits == 197
    assert document["summary"]["jobs_by_status"]["EXCEPTION"] == 3


def test_the_cache_is_bounded() -> None:
    store = MemoryStore()
    fill(store, {f"job{n}": "NORMAL" for n in range(10)})
    store_reader = reader(store, cache=readers.FleetCache(capacity=4))

    fleet(store_reader)
    fleet(store_reader)

    # The second request finds the 4 read last (job6 to job9) and reads the 6 evicted.
    assert len(store_reader.cache) == 4
    assert (store_reader.last_cost.cache_hits, store_reader.last_cost.reads) == (4, 6)


def test_a_corrupt_latest_json_is_a_row_not_a_failure() -> None:
    store = MemoryStore()
    fill(store, {"a": "NORMAL", "c": "NORMAL"})
    store.objects[latest_key(job("b/broken"))] = b'{"observed_at": "no'
    store.versions[latest_key(job("b/broken"))] = 1

    document = fleet(reader(store))

    broken = document["jobs"][1]
    assert (broken["job_name"], broken["status"], broken["valid"]) == ("b/broken", "UNKNOWN", False)
    assert "not JSON" in str(broken["error"])
    assert document["summary"]["unreadable"] == 1
    assert document["summary"]["overall"] == "UNKNOWN"


class FailingReads(MemoryStore):
    def __init__(self, failing: set[str], vanishing: set[str]) -> None:
        super().__init__()
        self.failing, self.vanishing = failing, vanishing

    def get(self, key: str) -> StoredObject | None:
        if key in self.failing:
            raise StoreError("cannot read s3://bucket/x: SlowDown (HTTP 503)")
        if key in self.vanishing:
            return None
        return super().get(key)


def test_a_latest_json_that_cannot_be_read_or_went_away_spoils_only_its_row() -> None:
    store = FailingReads(set(), set())
    fill(store, {"a": "NORMAL", "b": "NORMAL", "c": "NORMAL"})
    store.failing, store.vanishing = {latest_key(job("b"))}, {latest_key(job("c"))}

    document = fleet(reader(store))

    assert [(row["job_name"], row["status"]) for row in document["jobs"]] == [
        ("a", "NORMAL"),
        ("b", "UNKNOWN"),
    ]
    assert "SlowDown" in str(document["jobs"][1]["error"])
    assert document["summary"]["job_count"] == 2


def test_reads_beyond_the_budget_wait_for_the_next_request() -> None:
    store = MemoryStore()
    fill(store, {f"job{n}": "NORMAL" for n in range(8)})
    store_reader = reader(store, max_fleet_reads=5)

    first = fleet(store_reader)
    second = fleet(store_reader)

    assert first["summary"]["jobs_by_status"] == {**first["summary"]["jobs_by_status"], "NORMAL": 5}
    assert first["summary"]["jobs_by_status"]["UNKNOWN"] == 3
    assert all("not read" in str(row["error"]) for row in first["jobs"][5:])
    assert second["summary"]["jobs_by_status"]["NORMAL"] == 8
    assert store_reader.last_cost.reads == 3


def test_a_fleet_beyond_the_listing_bound_is_refused_whole() -> None:
    store = MemoryStore()
    fill(store, {f"job{n}": "NORMAL" for n in range(6)})

    with pytest.raises(ReadLimitExceeded, match="more than 5 jobs") as refused:
        reader(store, max_fleet_jobs=5).fleet(PROJECT)

    assert refused.value.limit == 5


def test_a_long_name_comes_from_the_document_not_the_cut_key() -> None:
    store = MemoryStore()
    name = "作业" * 60
    observe(store, job(name), "NORMAL", START)

    [row] = fleet(reader(store))["jobs"]

    assert "~" in latest_key(job(name))
    assert row["job_name"] == name


def test_an_empty_fleet_has_no_overall_status() -> None:
    document = fleet(reader(MemoryStore()), fail_on=frozenset({"EXCEPTION", "UNKNOWN"}))

    assert document["jobs"] == []
    assert (document["summary"]["overall"], document["failing"]) == (None, False)
    assert document["next_cursor"] is None


@pytest.mark.parametrize("workspace", [None, "ws"])
def test_a_cursor_of_another_fleet_is_refused(workspace: str | None) -> None:
    store = MemoryStore()
    fill(store, {"a": "NORMAL", "b": "NORMAL"} if workspace is None else {})
    for name in ("a", "b"):
        observe(store, job(name, "ws"), "NORMAL", START)
    cursor = fleet(reader(store), workspace, limit=1)["next_cursor"]
    assert cursor is not None

    with pytest.raises(InvalidInput, match="cursor") as refused:
        reader(store).fleet(PROJECT, "other" if workspace is None else None, cursor=cursor)

    assert refused.value.field == "cursor"


@pytest.mark.parametrize(("project", "workspace"), [("../x", None), (PROJECT, "a/b")])
def test_fleet_coordinates_follow_the_status_route_rules(
    project: str, workspace: str | None
) -> None:
    with pytest.raises(InvalidInput):
        reader(MemoryStore()).fleet(project, workspace)


# --- history -------------------------------------------------------------------------


def history_pages(store_reader: StoreReader, ref: JobRef, **options: Any) -> list[Any]:
    pages = [store_reader.history(ref, **options)]
    while pages[-1]["next_cursor"] is not None:
        assert len(pages) < 100
        pages.append(store_reader.history(ref, cursor=pages[-1]["next_cursor"], **options))
    for page in pages:
        assert_valid(page, "history-page.v1.schema.json")
    return pages


def observed_times(pages: list[Any]) -> list[str]:
    return [document["observed_at"] for page in pages for document in page["documents"]]


@pytest.fixture
def three_days() -> MemoryStore:
    """job_sms observed every 6 hours over three days (12 documents), statuses alternating
    so that every observation is new content."""
    store = MemoryStore()
    for step in range(12):
        status = "NORMAL" if step % 2 else "EXCEPTION"
        observe(store, job("job_sms"), status, START + timedelta(hours=6 * step))
    return store


def test_history_is_newest_first_within_from_and_to(three_days: MemoryStore) -> None:
    store_reader = reader(three_days, START + timedelta(days=5))

    pages = history_pages(
        store_reader,
        job("job_sms"),
        start=START + timedelta(hours=6),
        end=START + timedelta(hours=30),
    )

    assert observed_times(pages) == [
        "2026-11-26T08:00:00.000Z",
        "2026-11-26T02:00:00.000Z",
        "2026-11-25T20:00:00.000Z",
        "2026-11-25T14:00:00.000Z",
    ]
    assert pages[0]["from"] == "2026-11-25T14:00:00.000Z"
    assert pages[0]["to"] == "2026-11-26T14:00:00.000Z"


def test_history_pages_join_without_gaps_or_repeats(three_days: MemoryStore) -> None:
    store_reader = reader(three_days, START + timedelta(days=5))

    pages = history_pages(store_reader, job("job_sms"), limit=5)

    expected = [
        f"2026-11-{day}T{hour:02}:00:00.000Z"
        for day, hours in (("27", (20, 14, 8, 2)), ("26", (20, 14, 8, 2)), ("25", (20, 14, 8)))
        for hour in hours
    ]
    expected.insert(0, "2026-11-28T02:00:00.000Z")
    assert observed_times(pages) == expected
    assert [len(page["documents"]) for page in pages] == [5, 5, 2]


def test_history_reads_only_the_objects_it_returns(three_days: MemoryStore) -> None:
    store_reader = reader(three_days, START + timedelta(days=5))
    three_days.reads.clear()
    listings = three_days.listings

    page = store_reader.history(
        job("job_sms"), start=START + timedelta(hours=30), end=START + timedelta(hours=42), limit=1
    )

    [document] = page["documents"]
    assert document["observed_at"] == "2026-11-26T20:00:00.000Z"
    assert three_days.reads == [
        history_key(job("job_sms"), START + timedelta(hours=36), _hash_of(document))
    ]
    # the job's oldest object (one key), then 2026-11-27 (nothing before 02:00), 2026-11-26
    assert three_days.listings - listings == 3


def _hash_of(document: Mapping[str, Any]) -> str:
    from dlf_status.domain.normalize import content_hash

    return content_hash(document)


def test_history_without_from_walks_back_a_bounded_number_of_days() -> None:
    store = MemoryStore()
    observe(store, job("quiet"), "NORMAL", START)
    observe(store, job("quiet"), "STOPPED", START + timedelta(days=70))
    store_reader = reader(store, START + timedelta(days=71))

    pages = history_pages(store_reader, job("quiet"))

    assert observed_times(pages) == ["2027-02-03T08:00:00.000Z", "2026-11-25T08:00:00.000Z"]
    # One page: the 69 empty days between are skipped by a binary search, and none
    # before the job's oldest object is listed.
    assert [len(page["documents"]) for page in pages] == [2]
    assert store_reader.last_cost.listing_calls <= 2 + 2 + 10


def test_a_day_too_dense_to_list_is_refused(
    three_days: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_LIST_CALLS_PER_DAY", 1)
    monkeypatch.setattr(readers, "MAX_LIST_PAGE", 1)
    original = three_days.list_objects
    monkeypatch.setattr(
        three_days,
        "list_objects",
        lambda prefix, **kw: original(prefix, start_after=kw.get("start_after", ""), limit=1),
    )

    with pytest.raises(ReadLimitExceeded, match="narrow from and to"):
        reader(three_days, START + timedelta(days=5)).history(job("job_sms"))


def test_a_corrupt_history_object_is_reported_not_fatal(three_days: MemoryStore) -> None:
    key = sorted(three_days.history())[-1]
    three_days.objects[key] = b"\x00garbage"

    page = reader(three_days, START + timedelta(days=5)).history(job("job_sms"), limit=2)

    assert len(page["documents"]) == 1
    assert page["unreadable"] == [
        {"time": "2026-11-28T02:00:00.000Z", "error": page["unreadable"][0]["error"]}
    ]
    assert page["unreadable"][0]["error"].startswith("not JSON")
    assert_valid(page, "history-page.v1.schema.json")


def test_a_job_without_history_costs_one_listing() -> None:
    store = MemoryStore()
    observe(store, job("other"), "NORMAL", START)
    listings = store.listings

    page = reader(store).history(job("never_polled"))

    assert (page["documents"], page["next_cursor"]) == ([], None)
    assert store.listings - listings == 1


def test_history_bounds_are_checked(three_days: MemoryStore) -> None:
    with pytest.raises(InvalidInput, match="from must be earlier than to") as refused:
        reader(three_days).history(job("job_sms"), start=START, end=START)

    assert refused.value.field == "from"


def test_a_history_cursor_is_bound_to_its_bounds(three_days: MemoryStore) -> None:
    store_reader = reader(three_days, START + timedelta(days=5))
    cursor = store_reader.history(job("job_sms"), limit=2)["next_cursor"]

    with pytest.raises(InvalidInput, match="cursor"):
        store_reader.history(job("job_sms"), start=START, cursor=cursor)
    with pytest.raises(InvalidInput, match="cursor"):
        store_reader.history(job("other"), cursor=cursor)


# --- transitions ---------------------------------------------------------------------


def test_transitions_come_oldest_first_and_the_cursor_follows_new_ones() -> None:
    store = MemoryStore()
    ref = job("job_sms")
    for step, status in enumerate(["NORMAL", "EXCEPTION", "NORMAL", "STOPPED", "STOPPED"]):
        observe(store, ref, status, START + timedelta(hours=10 * step))
    store_reader = reader(store, START + timedelta(days=3))

    first = store_reader.transitions(ref, limit=2)
    rest = store_reader.transitions(ref, limit=2, cursor=first["next_cursor"])
    for page in (first, rest):
        assert_valid(page, "transitions-page.v1.schema.json")
    observe(store, ref, "EXCEPTION", START + timedelta(days=2))
    later = store_reader.transitions(ref, limit=2, cursor=rest["next_cursor"])

    def moves(page: Any) -> list[tuple[str, str]]:
        return [(r["changes"][0]["from"], r["changes"][0]["to"]) for r in page["records"]]

    assert moves(first) == [("NORMAL", "EXCEPTION"), ("EXCEPTION", "NORMAL")]
    assert first["has_more"] is True
    assert moves(rest) == [("NORMAL", "STOPPED")]
    assert rest["has_more"] is False
    assert moves(later) == [("STOPPED", "EXCEPTION")]


def test_transitions_since_is_inclusive() -> None:
    store = MemoryStore()
    ref = job("job_sms", "ws")
    for step, status in enumerate(["NORMAL", "EXCEPTION", "NORMAL", "EXCEPTION"]):
        observe(store, ref, status, START + timedelta(days=step))

    page = reader(store).transitions(ref, since=START + timedelta(days=2))

    assert [record["observed_at"] for record in page["records"]] == [
        "2026-11-27T08:00:00.000Z",
        "2026-11-28T08:00:00.000Z",
    ]
    assert page["since"] == "2026-11-27T08:00:00.000Z"
    assert_valid(page, "transitions-page.v1.schema.json")


def test_an_empty_transitions_page_keeps_its_position() -> None:
    store = MemoryStore()
    ref = job("job_sms")
    store_reader = reader(store)

    empty = store_reader.transitions(ref, since=START)
    observe(store, ref, "NORMAL", START + timedelta(hours=1))
    observe(store, ref, "EXCEPTION", START + timedelta(hours=2))
    after = store_reader.transitions(ref, since=START, cursor=empty["next_cursor"])

    assert (empty["records"], empty["has_more"]) == ([], False)
    assert [record["observed_at"] for record in after["records"]] == ["2026-11-25T10:00:00.000Z"]


def test_a_record_that_is_not_a_transition_is_reported() -> None:
    store = MemoryStore()
    ref = job("job_sms")
    observe(store, ref, "NORMAL", START)
    observe(store, ref, "EXCEPTION", START + timedelta(hours=1))
    [key] = [k for k in store.objects if k.startswith("transitions/")]
    store.objects[key] = jsoncodec.canonical_bytes({"kind": "something-else"})

    page = reader(store).transitions(ref)

    assert page["records"] == []
    assert page["unreadable"][0]["error"] == "not a status-transition record"


def test_history_bounds_at_the_ends_of_the_calendar_walk_without_overflow() -> None:
    store = MemoryStore()
    observe(store, job("j"), "NORMAL", START)
    store_reader = reader(store)
    latest = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    earliest = datetime(1, 1, 1, tzinfo=UTC)

    far_future = store_reader.history(job("j"), end=latest)
    everything = store_reader.history(job("j"), start=earliest, end=latest)
    long_ago = store_reader.history(job("j"), end=earliest + timedelta(days=1))
    nothing = reader(MemoryStore()).history(job("j"), end=latest)

    # A walk back from 9999 searches its 400 days in one request and finds no day with
    # objects (the job's is older): nothing, and no cursor; it never steps past the
    # calendar.
    assert (far_future["documents"], far_future["next_cursor"]) == ([], None)
    assert (len(everything["documents"]), everything["next_cursor"]) == (1, None)
    assert (long_ago["documents"], long_ago["next_cursor"]) == ([], None)
    assert (nothing["documents"], nothing["next_cursor"]) == ([], None)
