"""The fleet, history and transitions read from SeaweedFS and the local store, filled
by the real snapshot writer: paging, filters, fail_on, staleness, bounds, the cache."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlf_status import bootstrap
from dlf_status.adapters.store_s3 import S3Store
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import ObjectStore
from dlf_status.domain.readmodels import FleetDocument
from dlf_status.domain.snapshots import HISTORY_ROOT, job_prefix, latest_key
from dlf_status.domain.timestamps import format_utc
from dlf_status.readers import StoreReader
from dlf_status.service import SnapshotWriter
from tests.support.listing_contract import hostile_jobs
from tests.support.read_models import assert_valid, observe
from tests.support.root import root_settings

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CYCLE = ("NORMAL", "NORMAL", "NORMAL", "EXCEPTION", "STOPPED", "INIT", "WHATEVER")


@dataclass
class FixedClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


def reader(store: ObjectStore, clock: FixedClock) -> StoreReader:
    """The store reader as the root builds it, over this store and clock."""
    return bootstrap.build_store_reader(root_settings(), store=store, clock=clock)


def fleet_pages(store_reader: StoreReader, **options: Any) -> list[FleetDocument]:
    pages = [store_reader.fleet(PROJECT, **options)]
    while pages[-1]["next_cursor"] is not None:
        assert len(pages) < 50
        pages.append(store_reader.fleet(PROJECT, cursor=pages[-1]["next_cursor"], **options))
    for page in pages:
        assert_valid(page, "fleet.v1.schema.json")
    return pages


@pytest.fixture
def fleet_store(store: ObjectStore) -> ObjectStore:
    """150 jobs: statuses cycling through CYCLE, one in ten observed an hour ago (stale),
    the rest a minute ago; plus jobs of another workspace and another project."""
    writer = SnapshotWriter(store)
    for number in range(150):
        age = timedelta(hours=1) if number % 10 == 9 else timedelta(minutes=1)
        observe(store, job(f"job-{number:03}"), CYCLE[number % 7], NOW - age, writer=writer)
    observe(store, job("elsewhere", "ws1"), "EXCEPTION", NOW, writer=writer)
    observe(store, JobRef.parse("otherproject", "job-000"), "EXCEPTION", NOW, writer=writer)
    return store


def job(name: str, workspace: str | None = None) -> JobRef:
    return JobRef.parse(PROJECT, name, workspace)


def test_a_fleet_of_hundreds_pages_filters_and_counts(fleet_store: ObjectStore) -> None:
    store_reader = bootstrap.build_store_reader(
        root_settings(), store=fleet_store, clock=FixedClock(NOW)
    )

    pages = fleet_pages(store_reader, limit=40, stale_after=900)
    exceptions = fleet_pages(
        store_reader, limit=7, statuses=frozenset({"EXCEPTION", "UNKNOWN"}), stale_after=900
    )

    rows = [row for page in pages for row in page["jobs"]]
    assert [row["job_name"] for row in rows] == [f"job-{n:03}" for n in range(150)]
    assert [len(page["jobs"]) for page in pages] == [40, 40, 40, 30]
    summary = pages[0]["summary"]
    assert summary["job_count"] == 150
    assert summary["jobs_by_status"] == {
        "STARTING": 21,  # INIT
        "NORMAL": 66,
        "EXCEPTION": 21,
        "STOPPING": 0,
        "STOPPED": 21,
        "UNKNOWN": 21,  # WHATEVER
    }
    assert (summary["stale"], summary["overall"]) == (15, "EXCEPTION")
    assert all(page["summary"] == summary for page in pages + exceptions)
    assert [row["job_name"] for page in exceptions for row in page["jobs"]] == [
        f"job-{n:03}" for n in range(150) if n % 7 in (3, 6)
    ]
    assert [row["stale"] for row in rows] == [n % 10 == 9 for n in range(150)]


def test_fail_on_answers_for_the_whole_fleet(fleet_store: ObjectStore) -> None:
    store_reader = bootstrap.build_store_reader(
        root_settings(), store=fleet_store, clock=FixedClock(NOW)
    )

    normal_page = store_reader.fleet(
        PROJECT, statuses=frozenset({"NORMAL"}), limit=1, fail_on=frozenset({"EXCEPTION"})
    )
    never = store_reader.fleet(PROJECT, limit=1, fail_on=frozenset({"STOPPING"}))
    stale = store_reader.fleet(PROJECT, limit=1, fail_on=frozenset({"STALE"}), stale_after=7200)

    for document in (normal_page, never, stale):
        assert_valid(document, "fleet.v1.schema.json")
    assert normal_page["jobs"][0]["status"] == "NORMAL"
    assert normal_page["failing"] is True
    assert never["failing"] is False
    assert stale["failing"] is False  # nothing is two hours old


def test_a_warm_fleet_reads_only_what_changed(fleet_store: ObjectStore) -> None:
    store_reader = bootstrap.build_store_reader(
        root_settings(), store=fleet_store, clock=FixedClock(NOW + timedelta(minutes=5))
    )
    store_reader.fleet(PROJECT)
    assert store_reader.last_cost.reads == 150
    assert store_reader.last_cost.listing_calls == 2  # latest/, and freshness/

    for name in ("job-010", "job-140"):
        observe(fleet_store, job(name), "EXCEPTION", NOW + timedelta(minutes=2))
    refreshed = store_reader.fleet(PROJECT)

    assert store_reader.last_cost.reads == 2
    assert store_reader.last_cost.cache_hits == 148
    # job-010 was in EXCEPTION already (observed again: a new latest.json), job-140 NORMAL
    assert refreshed["summary"]["jobs_by_status"]["EXCEPTION"] == 22


def test_a_corrupt_latest_json_is_one_unknown_row(store: ObjectStore) -> None:
    observe(store, job("good"), "NORMAL", NOW)
    observe(store, job("spoilt"), "NORMAL", NOW)
    current = store.get(latest_key(job("spoilt")))
    assert current is not None
    assert store.replace(latest_key(job("spoilt")), b"\x00not json", {}, current.version)

    document = bootstrap.build_store_reader(
        root_settings(), store=store, clock=FixedClock(NOW)
    ).fleet(PROJECT, fail_on=frozenset({"UNKNOWN"}))

    assert_valid(document, "fleet.v1.schema.json")
    assert [(row["job_name"], row["status"], row["valid"]) for row in document["jobs"]] == [
        ("good", "NORMAL", True),
        ("spoilt", "UNKNOWN", False),
    ]
    assert document["failing"] is True


def test_hostile_job_names_come_back_whole_in_the_fleet(store: ObjectStore) -> None:
    jobs = [ref for ref in hostile_jobs() if ref.workspace is None]
    writer = SnapshotWriter(store)
    for ref in jobs:
        observe(store, ref, "NORMAL", NOW, writer=writer)

    pages = fleet_pages(reader(store, FixedClock(NOW)), limit=9)

    names = [row["job_name"] for page in pages for row in page["jobs"]]
    assert sorted(names) == sorted(ref.job_name for ref in jobs)
    assert len(names) == len(set(names))


def test_history_and_transitions_across_days(store: ObjectStore) -> None:
    ref = job("a/b c", "ws1")
    writer = SnapshotWriter(store)
    start = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
    statuses = ["NORMAL", "EXCEPTION", "NORMAL", "STOPPED", "NORMAL", "EXCEPTION"]
    moments = [start + timedelta(hours=9 * step) for step in range(len(statuses))]
    for moment, status in zip(moments, statuses, strict=True):
        observe(store, ref, status, moment, {"node": status}, writer=writer)
    store_reader = reader(store, FixedClock(NOW))

    history = [store_reader.history(ref, limit=2)]
    while history[-1]["next_cursor"]:
        history.append(store_reader.history(ref, limit=2, cursor=history[-1]["next_cursor"]))
    bounded = store_reader.history(ref, start=moments[1], end=moments[4])
    transitions = store_reader.transitions(ref, since=moments[2], limit=2)
    rest = store_reader.transitions(ref, since=moments[2], cursor=transitions["next_cursor"])

    for history_page in [*history, bounded]:
        assert_valid(history_page, "history-page.v1.schema.json")
    for transitions_page in (transitions, rest):
        assert_valid(transitions_page, "transitions-page.v1.schema.json")
    newest_first = [moment.isoformat(timespec="milliseconds")[:-6] + "Z" for moment in moments][
        ::-1
    ]
    assert [d["observed_at"] for page in history for d in page["documents"]] == newest_first
    assert [d["observed_at"] for d in bounded["documents"]] == newest_first[2:5]
    assert [r["observed_at"] for r in transitions["records"] + rest["records"]] == newest_first[
        3::-1
    ]
    assert (transitions["has_more"], rest["has_more"]) == (True, False)
    assert {d["source"]["job_name"] for page in history for d in page["documents"]} == {"a/b c"}


# Names equal only after Unicode normalisation (NFC, NFKC) or case folding: each is its
# own job (the upstream compares names as they are), with its own row and history.
LOOKALIKES = (
    ("caf\u00e9", "cafe\u0301"),  # NFC and NFD
    ("\u00c5", "\u212b", "A\u030a"),  # A with ring, the angstrom sign, A and a combining ring
    ("K", "\u212a"),  # K and the kelvin sign
    ("job", "JOB", "Job", "\uff4a\uff4f\uff42"),  # case, and fullwidth (NFKC: job)
    ("stra\u00dfe", "STRASSE", "strasse"),  # casefold: strasse
    ("\ufb01le", "file"),  # the fi ligature (NFKC: fi)
)


def test_names_that_collide_only_after_normalisation_or_case_stay_apart(
    store: ObjectStore,
) -> None:
    writer = SnapshotWriter(store)
    expected: dict[str, str] = {}
    for group in LOOKALIKES:
        for number, name in enumerate(group):
            status = ("NORMAL", "EXCEPTION", "STOPPED", "STARTING")[number]
            observe(store, job(name), status, NOW - timedelta(minutes=number + 1), writer=writer)
            expected[name] = status
    store_reader = reader(store, FixedClock(NOW))

    rows = [row for page in fleet_pages(store_reader, limit=4) for row in page["jobs"]]

    assert {row["job_name"]: row["status"] for row in rows} == expected
    assert len(rows) == len(expected)
    for name, status in expected.items():
        documents = store_reader.history(job(name))["documents"]
        assert [(d["source"]["job_name"], d["job"]["status"]) for d in documents] == [
            (name, status)
        ]


def test_pages_read_while_the_writer_adds_documents_skip_and_repeat_nothing(
    store: ObjectStore,
) -> None:
    """Transitions, oldest first, pick up records written while a consumer pages; a
    history walk, newest first, shows each document of its bounds once, the ones
    written since its first page not at all (they are newer than its `to`)."""
    ref = job("busy")
    writer = SnapshotWriter(store)
    clock = FixedClock(NOW)
    store_reader = reader(store, clock)
    statuses = ["NORMAL", "EXCEPTION"] * 6
    moments = [NOW - timedelta(hours=30) + timedelta(hours=5 * step) for step in range(12)]
    for status, moment in zip(statuses[:6], moments[:6], strict=True):
        observe(store, ref, status, moment, writer=writer)

    records: list[str] = []
    documents: list[str] = []
    to = NOW - timedelta(hours=1)  # after the sixth document, before the seventh
    history_cursor: str | None = None
    transitions_cursor: str | None = None
    for status, moment in zip(statuses[6:], moments[6:], strict=True):
        transitions = store_reader.transitions(ref, limit=1, cursor=transitions_cursor)
        records.extend(record["observed_at"] for record in transitions["records"])
        transitions_cursor = transitions["next_cursor"]
        history = store_reader.history(ref, end=to, limit=1, cursor=history_cursor)
        documents.extend(document["observed_at"] for document in history["documents"])
        history_cursor = history["next_cursor"]
        observe(store, ref, status, moment, writer=writer)  # between two pages
        clock.moment = moment
    while True:
        transitions = store_reader.transitions(ref, limit=1, cursor=transitions_cursor)
        records.extend(record["observed_at"] for record in transitions["records"])
        transitions_cursor = transitions["next_cursor"]
        if not transitions["has_more"]:
            break
    while history_cursor is not None:
        history = store_reader.history(ref, end=to, limit=1, cursor=history_cursor)
        documents.extend(document["observed_at"] for document in history["documents"])
        history_cursor = history["next_cursor"]

    whole = [record["observed_at"] for record in store_reader.transitions(ref)["records"]]
    assert len(whole) == 11  # every change after the first observation
    assert records == whole
    stamps = [format_utc(moment) for moment in moments]
    assert documents == [stamp for stamp in reversed(stamps) if stamp < format_utc(to)]


@pytest.mark.parametrize("limit", [1, 2, 3, 20])
def test_history_over_sparse_days_lists_each_document_once(store: ObjectStore, limit: int) -> None:
    """Documents on scattered days (neighbours, gaps of a week and of months): the
    walk's binary search probes land on days with objects and on empty ones, and this
    store's listing order (SeaweedFS lists by directory) must give the same pages."""
    ref = job("sparse")
    writer = SnapshotWriter(store)
    days = [300, 101, 100, 16, 15, 8, 7, 3, 1, 0]
    moments = [NOW - timedelta(days=day, hours=1) for day in days]
    for number, moment in enumerate(moments):
        observe(store, ref, ("NORMAL", "EXCEPTION")[number % 2], moment, writer=writer)
    store_reader = reader(store, FixedClock(NOW))

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(len(days) + 2):
        page = store_reader.history(
            ref, start=NOW - timedelta(days=365), limit=limit, cursor=cursor
        )
        seen.extend(document["observed_at"] for document in page["documents"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert cursor is None
    assert seen == [format_utc(moment) for moment in reversed(moments)]


@pytest.mark.parametrize(
    "stray",
    [
        "aaa.txt",  # before every partition
        "date=2020-01-01/notes.txt",  # in an older partition, not named by dlf-status
        "date=2020-13-45/x.json",  # a partition whose date does not exist
        "date=2020-01-01/20200101T000000000Z-zz.json",  # a name that only looks like ours
    ],
)
def test_an_object_dlf_status_did_not_name_never_hides_the_history(
    store: ObjectStore, stray: str
) -> None:
    """The walk starts from the job's oldest object: one not named by dlf-status that
    sorts first made the history empty (its day could not be read, and was taken for
    'no object at all')."""
    ref = job("with company")
    writer = SnapshotWriter(store)
    observe(store, ref, "NORMAL", NOW - timedelta(days=3), writer=writer)
    observe(store, ref, "EXCEPTION", NOW - timedelta(hours=1), writer=writer)
    assert store.create(job_prefix(HISTORY_ROOT, ref) + stray, b"{}", {}) is True

    page = reader(store, FixedClock(NOW)).history(ref)

    assert [document["job"]["status"] for document in page["documents"]] == [
        "EXCEPTION",
        "NORMAL",
    ]
    assert page["next_cursor"] is None


@pytest.mark.parametrize("stray_day", [41, 11])
def test_a_key_no_store_call_may_name_never_hides_the_history(
    s3_store: S3Store, stray_day: int
) -> None:
    """Another tool's key that dlf-status would never write (a partition copied by
    hand: `date=... copy/`, with a space) is skipped by every listing. Found first by
    the one-key listings that bound and skip the walk, it read as 'nothing there': the
    history came back empty (the job's oldest key, 40 days back), or lost the days
    after it (a search over the empty days, 10 days back)."""
    ref = job("with company")
    writer = SnapshotWriter(s3_store)
    moments = [NOW - timedelta(days=days) for days in (40, 10)] + [NOW - timedelta(hours=1)]
    for status, moment in zip(("NORMAL", "EXCEPTION", "NORMAL"), moments, strict=True):
        observe(s3_store, ref, status, moment, writer=writer)
    bucket, _, root = s3_store.location.removeprefix("s3://").partition("/")
    stray = f"date={(NOW - timedelta(days=stray_day)).date().isoformat()} copy/x.json"
    s3_store.client.put_object(
        Bucket=bucket, Key=f"{root}/{job_prefix(HISTORY_ROOT, ref)}{stray}", Body=b"{}"
    )

    page = reader(s3_store, FixedClock(NOW)).history(ref)

    assert [document["observed_at"] for document in page["documents"]] == [
        format_utc(moment) for moment in reversed(moments)
    ]
    assert page["next_cursor"] is None
