"""The drift report's pure part (domain/drift.py): what a stored document says drifted,
how a job counts once per finding, and the bounds on what a hostile store can make
the report hold."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.domain import drift, jsoncodec
from dlf_status.domain.drift import (
    MAX_FINDING_TEXT,
    MAX_FINDINGS_PER_DOCUMENT,
    DriftTally,
    Finding,
    JobName,
    finding_text,
    findings_of,
    job_of_key,
    observe,
)
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import MAX_LIST_PAGE, ObjectListing, StoredObject
from dlf_status.domain.snapshots import (
    encode_partition_value,
    history_key,
    latest_key,
    legacy_partition_value,
)
from dlf_status.drift import MAX_DOCUMENT_BYTES, READ_AHEAD, DriftReader
from tests.support.fakes import MemoryStore
from tests.unit.test_documents import keys_of, keys_of_type

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "drift-report.v1.schema.json").read_text(
        encoding="utf-8"
    )
)

JOB_A = JobName(project_id="p", workspace=None, job_name="a")
JOB_B = JobName(project_id="p", workspace="w", job_name="b")


def document(
    observed_at: str,
    unknown: list[str] = [],  # noqa: B006 - never changed
    job_status: str | None = "NORMAL",
    node_statuses: list[str | None] = [],  # noqa: B006 - never changed
) -> dict[str, Any]:
    return {
        "observed_at": observed_at,
        "job": {"status_raw": job_status},
        "nodes": [
            {"name": f"n{index}", "status_raw": raw} for index, raw in enumerate(node_statuses)
        ],
        "validation": {"unknown_fields": unknown},
    }


def tally_of(*jobs: tuple[JobName, list[Any]], **options: Any) -> DriftTally:
    tally = DriftTally(**options)
    for job, documents in jobs:
        drift = tally.job()
        for each in documents:
            drift.add(observe(job, each))
        tally.add_job(drift)
    return tally


def test_unknown_fields_and_statuses_outside_the_five_are_findings() -> None:
    found, more = findings_of(
        document(
            "2026-11-01T00:00:00.000Z",
            unknown=["$.labels", "$.labels", "$.nodes[*].checkpoint"],
            job_status="INIT",
            node_statuses=["NORMAL", "normal", "", None, "STOPPED", "DEGRADED"],
        )
    )

    assert found == [
        Finding("job_status", "INIT"),
        Finding("node_status", "normal"),
        Finding("node_status", ""),
        Finding("node_status", "DEGRADED"),
        Finding("unknown_field", "$.labels"),
        Finding("unknown_field", "$.nodes[*].checkpoint"),
    ]
    assert not more


def test_a_job_counts_once_per_finding_and_first_and_last_seen_span_its_documents() -> None:
    tally = tally_of(
        (
            JOB_A,
            [
                document("2026-11-03T00:00:00.000Z", ["$.labels"]),
                document("2026-11-01T00:00:00.000Z", ["$.labels"], job_status="INIT"),
                document("2026-11-02T00:00:00.000Z", ["$.labels"]),
            ],
        ),
        (JOB_B, [document("2026-10-30T12:00:00.000Z", ["$.labels"], job_status="INIT")]),
    )

    report = tally.report()

    (labels,) = report["unknown_fields"]
    assert labels == {
        "value": "$.labels",
        "first_seen": "2026-10-30T12:00:00.000Z",
        "last_seen": "2026-11-03T00:00:00.000Z",
        "jobs": 2,
        "documents": 4,
        "example_job": JOB_A,
    }
    (init,) = report["statuses"]
    assert (init["value"], init["scope"], init["folded_to"], init["jobs"]) == (
        "INIT",
        "job",
        "STARTING",
        2,
    )
    assert (report["documents_read"], report["jobs_read"]) == (4, 2)
    assert report["summary"].startswith(
        "1 unknown field(s) and 1 status(es) outside the documented five"
    )
    assert report["summary"].endswith("in 4 document(s) of 2 job(s)")


def test_since_counts_documents_observed_on_or_after_the_day() -> None:
    tally = tally_of(
        (
            JOB_A,
            [
                document("2026-10-31T23:59:59.999Z", ["$.old"]),
                document("2026-11-01T00:00:00.000Z", ["$.new"]),
            ],
        ),
        since=date(2026, 11, 1),
    )

    report = tally.report()

    assert [entry["value"] for entry in report["unknown_fields"]] == ["$.new"]
    assert report["skipped"]["before_since"] == 1
    assert report["summary"].endswith("observed since 2026-11-01")


def test_gone_documents_and_records_are_not_status_documents() -> None:
    gone = {"kind": "job-gone", "observed_at": "2026-11-01T00:00:00.000Z", "source": {}}

    report = tally_of((JOB_A, [gone, {"observed_at": "yesterday"}, [], "x"])).report()

    assert report["skipped"]["not_status_documents"] == 4
    assert (report["documents_read"], report["jobs_read"]) == (0, 0)
    assert report["summary"] == "no drift in 0 document(s) of 0 job(s)"


def test_a_long_or_unprintable_finding_is_cut_and_stays_distinct() -> None:
    long_a = "$." + "a" * 5000 + "x"
    long_b = "$." + "a" * 5000 + "y"

    cut_a, cut_b = finding_text(long_a), finding_text(long_b)

    assert cut_a != cut_b
    assert len(cut_a) < MAX_FINDING_TEXT + 40
    assert "\n" not in finding_text("$['a\nb']")
    assert finding_text("$.plain") == "$.plain"


def test_a_document_gives_at_most_its_bound_of_findings() -> None:
    many = [f"$.f{index}" for index in range(MAX_FINDINGS_PER_DOCUMENT + 50)]

    found, more = findings_of(document("2026-11-01T00:00:00.000Z", many))

    assert len(found) == MAX_FINDINGS_PER_DOCUMENT
    assert more


def test_the_report_keeps_at_most_its_bound_and_counts_the_rest() -> None:
    tally = tally_of(
        (JOB_A, [document("2026-11-01T00:00:00.000Z", [f"$.a{index}" for index in range(5)])]),
        (JOB_B, [document("2026-11-01T00:00:00.000Z", [f"$.b{index}" for index in range(5)])]),
        max_findings=3,
    )

    report = tally.report()

    assert len(report["unknown_fields"]) == 3
    assert report["findings_not_kept"] == 7  # two past the bound in a, five in b


def test_a_key_names_its_job_decoded_and_a_long_name_comes_from_the_document() -> None:
    name = "orders/" + "é" * 300  # cut in keys
    encoded = encode_partition_value(name)
    key = f"project_id=p/workspace=__HIVE_DEFAULT_PARTITION__/job_name={encoded}/"
    job = job_of_key(key)
    assert job is not None
    assert job["workspace"] is None
    assert job["job_name"] != name

    seen = observe(job, {**document("2026-11-01T00:00:00.000Z"), "source": {"job_name": name}})
    lying = observe(job, {**document("2026-11-01T00:00:00.000Z"), "source": {"job_name": "x"}})

    assert seen.job["job_name"] == name
    assert lying.job == job
    assert job_of_key("project_id=p/workspace=w%2Fx/job_name=a%20b/") == JobName(
        project_id="p", workspace="w/x", job_name="a b"
    )
    assert job_of_key("project_id=p/job_name=a/") is None


def test_a_key_written_by_an_earlier_release_names_its_job_too() -> None:
    name = "作业" + "é" * 100  # its old key was cut (%C3%A9 per character), its new one is not
    legacy = legacy_partition_value(name)
    job = job_of_key(f"project_id=p/workspace=w/job_name={legacy}/")
    assert job is not None
    assert legacy != encode_partition_value(name)
    assert job["job_name"] != name

    seen = observe(job, {**document("2026-11-01T00:00:00.000Z"), "source": {"job_name": name}})

    assert seen.job["job_name"] == name


_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
_SHAPED = st.fixed_dictionaries(
    {"observed_at": st.just("2026-11-01T00:00:00.000Z")},
    optional={"job": _ANY, "nodes": _ANY, "validation": _ANY, "source": _ANY},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ANY | _SHAPED, max_size=5))
def test_any_stored_json_gives_a_report_and_never_an_error(documents: list[Any]) -> None:
    report = tally_of((JOB_A, documents)).report()

    assert report["documents_read"] + report["skipped"]["not_status_documents"] == len(documents)
    for entry in [*report["unknown_fields"], *report["statuses"]]:
        assert entry["value"].isprintable()
        assert 1 <= entry["documents"] <= report["documents_read"]


@pytest.mark.parametrize(
    ("typed", "schema"),
    [
        (drift.DriftReport, SCHEMA),
        (drift.Skipped, SCHEMA["properties"]["skipped"]),
        (drift.FindingEntry, SCHEMA["$defs"]["finding"]),
        (drift.JobName, SCHEMA["$defs"]["finding"]["properties"]["example_job"]),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_the_report_s_typed_dicts_name_the_keys_its_schema_names(typed: Any, schema: Any) -> None:
    assert keys_of_type(typed) == keys_of(schema)


def test_a_status_entry_adds_what_its_schema_adds() -> None:
    items = SCHEMA["properties"]["statuses"]["items"]
    added = set(drift.StatusEntry.__required_keys__) - set(drift.FindingEntry.__required_keys__)

    assert added == set(items["properties"]) == set(items["required"])


class _Sizes(MemoryStore):
    """A memory store whose listing says what `listed_sizes` says, and whose reads of
    `grown` keys return more than was listed (replaced since), recording every read."""

    def __init__(self) -> None:
        super().__init__()
        self.listed_sizes: dict[str, int] = {}
        self.grown: dict[str, bytes] = {}
        self.reads: list[str] = []

    def get(self, key: str) -> StoredObject | None:
        self.reads.append(key)
        if key in self.grown:
            return StoredObject(self.grown[key], "v")
        return super().get(key)

    def list_objects(
        self, prefix: str, *, start_after: str = "", limit: int = MAX_LIST_PAGE
    ) -> ObjectListing:
        listing = super().list_objects(prefix, start_after=start_after, limit=limit)
        objects = tuple(
            listed._replace(size=self.listed_sizes.get(listed.key, listed.size))
            for listed in listing.objects
        )
        return listing._replace(objects=objects)


def test_a_document_listed_past_the_bound_is_never_read_and_one_that_grew_is_dropped() -> None:
    store = _Sizes()
    job = JobRef.parse("p", "a")
    at = datetime(2026, 11, 1, tzinfo=UTC)
    body = jsoncodec.canonical_bytes(document("2026-11-01T00:00:00.000Z", ["$.x"]))
    huge, grown = history_key(job, at, "0" * 64), history_key(job, at, "1" * 64)
    for key in (huge, grown, latest_key(job)):
        store.create(key, body, {})
    store.listed_sizes[huge] = MAX_DOCUMENT_BYTES + 1
    store.grown[grown] = b" " * (MAX_DOCUMENT_BYTES + 1)

    report = DriftReader(store).report()

    assert huge not in store.reads
    assert report["skipped"]["too_large"] == 2
    assert report["documents_read"] == 1  # latest.json
    assert [entry["value"] for entry in report["unknown_fields"]] == ["$.x"]


def test_a_fleet_larger_than_the_read_ahead_counts_every_job_once_per_finding() -> None:
    store = MemoryStore()
    jobs = READ_AHEAD * 3 + 5
    for index in range(jobs):
        job = JobRef.parse("p", f"job-{index:04d}", None if index % 2 else "ws")
        for day in (1, 2):
            at = datetime(2026, 11, day, tzinfo=UTC)
            spelt = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            body = jsoncodec.canonical_bytes(document(spelt, [f"$.f{index % 3}", f"$.d{day}"]))
            store.create(history_key(job, at, f"{day}" * 64), body, {})
        store.create(latest_key(job), body, {})

    report = DriftReader(store, workers=3).report()

    counts = {
        entry["value"]: (entry["jobs"], entry["documents"]) for entry in report["unknown_fields"]
    }
    expected_f = [len(range(remainder, jobs, 3)) for remainder in range(3)]
    assert counts == {
        "$.d1": (jobs, jobs),
        "$.d2": (jobs, jobs),
        **{f"$.f{remainder}": (n, 2 * n) for remainder, n in enumerate(expected_f)},
    }
    assert (report["documents_read"], report["jobs_read"]) == (2 * jobs, jobs)
