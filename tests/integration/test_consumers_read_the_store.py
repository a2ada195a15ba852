"""The store as a data-platform team reads it: the README's DuckDB queries, run as
written, over a store that the real service filled from a real HTTP upstream with
every golden document, the known-bad answers lenient mode still stores, bodies whose
extra keys differ only by case, and every hostile job name and workspace we accept.

DuckDB is the consumer here because it runs in-process and offline; its httpfs
extension (to read SeaweedFS directly) would be a download, so the store is the
local directory one, which has the same layout.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import moved_latest_key
from dlf_status.service import SnapshotWriter
from tests.integration.conftest import FilledStore
from tests.support.consumer_store import (
    SAME_NAME_ELSEWHERE,
    documents,
    gone_jobs,
    read_back,
    readme_blocks,
)
from tests.support.documents import status_document

pytestmark = pytest.mark.integration

PROJECT = "p1"
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def readme_queries() -> list[str]:
    """Every SQL block of the README that reads the store."""
    return [block for block in readme_blocks("sql") if "read_json(" in block]


def connect() -> duckdb.DuckDBPyConnection:
    # Offline: nothing may be downloaded on the way.
    return duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )


def scan(query: str, part: Path) -> list[tuple[Any, ...]]:
    """`query` over every document under `part` (a Hive-partitioned tree)."""
    return connect().sql(query, params={"files": f"{part}/**/*.json"}).fetchall()


def test_the_readme_queries_read_every_document_of_the_store(
    filled_store: FilledStore,
) -> None:
    root, jobs = filled_store
    queries = readme_queries()
    assert len(queries) >= 2  # history and latest

    for query in queries:
        parts = ("latest", "transitions")  # one row per document (records' changes a list)
        part = next((part for part in parts if f"snapshots/{part}/" in query), "history")
        rows = connect().sql(query.replace("snapshots/", f"{root}/")).fetchall()

        read = documents(root, part)
        if "'job-gone'" in query:  # the query of the jobs reported gone
            read = [document for document in read if document.get("kind") == "job-gone"]
            assert len(read) == len(gone_jobs(jobs))
        assert len(rows) == len(read), query
    assert len(documents(root, "latest")) == len(set(jobs))


def test_a_gone_job_reads_as_no_status_never_as_its_last_one(
    filled_store: FilledStore,
) -> None:
    root, jobs = filled_store
    query = """
        SELECT source.job_name, source.workspace, job.status
        FROM read_json($files, hive_partitioning = true)
    """

    rows = scan(query, root / "latest")

    gone = {(job.job_name, job.workspace) for job in gone_jobs(jobs)}
    assert len(gone) == 4
    statuses = {(name, workspace): status for name, workspace, status in rows}
    assert {key for key, status in statuses.items() if status is None} == gone


@pytest.mark.parametrize("part", ["history", "latest"])
def test_partition_columns_decode_to_the_documents_source(
    filled_store: FilledStore, part: str
) -> None:
    root, _ = filled_store
    query = """
        SELECT project_id, workspace, job_name,
               source.project_id, source.workspace, source.job_name
        FROM read_json($files, hive_partitioning = true)
    """

    rows = scan(query, root / part)

    assert len(rows) == len(documents(root, part))
    for project, workspace, job_name, doc_project, doc_workspace, doc_job_name in rows:
        assert (project, workspace) == (doc_project, doc_workspace)
        assert job_name == read_back(doc_job_name)


def test_long_names_read_back_in_their_documented_cut_form(
    filled_store: FilledStore,
) -> None:
    root, _ = filled_store
    query = """
        SELECT DISTINCT job_name, source.job_name
        FROM read_json($files, hive_partitioning = true)
        WHERE contains(job_name, '~') AND job_name <> source.job_name
    """

    cut = dict(scan(query, root / "latest"))

    assert {read_back("作业" * 34), read_back("é" * 101), read_back("作" * 128)} <= set(cut)
    assert read_back("作业" * 33) == "作业" * 33  # 198 bytes: whole
    for shown, name in cut.items():
        assert name.startswith(shown[:-17])


def test_a_workspace_or_project_named_like_the_null_partition_is_its_own_job(
    filled_store: FilledStore,
) -> None:
    root, _ = filled_store
    query = """
        SELECT project_id, workspace, count(*)
        FROM read_json($files, hive_partitioning = true)
        WHERE source.job_name = 'job_sms' GROUP BY ALL
    """

    rows = scan(query, root / "latest")

    assert sorted(rows, key=str) == sorted(
        [(project, workspace, 1) for project, workspace in SAME_NAME_ELSEWHERE], key=str
    )


def test_extra_keys_that_differ_only_by_case_are_separate_columns(
    filled_store: FilledStore,
) -> None:
    root, _ = filled_store
    query = """
        SELECT extra."starttime", extra.labels."^team", extra.labels."team",
               extra.labels."^t^e^a^m"
        FROM read_json($files, hive_partitioning = true)
        WHERE job.name = 'both_spellings' LIMIT 1
    """

    rows = scan(query, root / "history")

    # Other documents hold other types under these keys: DuckDB reads them as JSON.
    assert [tuple(json.loads(value) for value in row) for row in rows] == [
        (1682582619000, "a", "b", [{"^owner": 1, "owner": 2}])
    ]


def test_each_jobs_latest_observation_is_one_row_across_a_moved_key(tmp_path: Path) -> None:
    """A key moved at an upgrade leaves the old latest.json behind: the README's query
    still reads one row per job, the newest."""
    [query] = [q for q in readme_queries() if q.startswith("-- each job's latest observation")]
    root = tmp_path / "snapshots"
    store = LocalDirectoryStore(root)
    moved = [JobRef.parse(PROJECT, "作业"), JobRef.parse(PROJECT, "作业" * 40)]  # uncut, cut
    for job in moved:
        old_key = moved_latest_key(job)
        assert old_key is not None
        earlier = status_document(job, "EXCEPTION", T0)
        store.replace(old_key, jsoncodec.canonical_bytes(earlier), {}, None)
        later = status_document(job, "NORMAL", T0 + timedelta(minutes=1))
        SnapshotWriter(store, sleep=lambda _: None).write(job, later, T0 + timedelta(minutes=1))
    assert len(documents(root, "latest")) == 4  # the old keys stay

    rows = connect().sql(query.replace("snapshots/", f"{root}/")).fetchall()

    assert sorted((row[4], row[5]) for row in rows) == sorted(
        ("NORMAL", job.job_name) for job in moved
    )
