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
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pytest_httpserver import HTTPServer

from contract_tests.support import ROOT
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.model import JobRef
from tests.support.consumer_store import (
    SAME_NAME_ELSEWHERE,
    documents,
    fill_store,
    gone_jobs,
    read_back,
)

pytestmark = pytest.mark.integration

README = ROOT / "README.md"


def readme_queries() -> list[str]:
    """Every SQL block of the README that reads the store."""
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    return [block for block in blocks if "read_json(" in block]


def connect() -> duckdb.DuckDBPyConnection:
    # Offline: nothing may be downloaded on the way.
    return duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )


def scan(query: str, part: Path) -> list[tuple[Any, ...]]:
    """`query` over every document under `part` (a Hive-partitioned tree)."""
    return connect().sql(query, params={"files": f"{part}/**/*.json"}).fetchall()


@pytest.fixture
def filled_store(
    tmp_path: Path,
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    validator: ResponseValidator,
) -> tuple[Path, list[JobRef]]:
    root = tmp_path / "snapshots"
    return root, fill_store(root, upstream, make_client, validator)


def test_the_readme_queries_read_every_document_of_the_store(
    filled_store: tuple[Path, list[JobRef]],
) -> None:
    root, jobs = filled_store
    queries = readme_queries()
    assert len(queries) >= 2  # history and latest

    for query in queries:
        part = "latest" if "snapshots/latest/" in query else "history"
        rows = connect().sql(query.replace("snapshots/", f"{root}/")).fetchall()

        read = documents(root, part)
        if "'job-gone'" in query:  # the query of the jobs reported gone
            read = [document for document in read if document.get("kind") == "job-gone"]
            assert len(read) == len(gone_jobs(jobs))
        assert len(rows) == len(read), query
    assert len(documents(root, "latest")) == len(set(jobs))


def test_a_gone_job_reads_as_no_status_never_as_its_last_one(
    filled_store: tuple[Path, list[JobRef]],
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
    filled_store: tuple[Path, list[JobRef]], part: str
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
    filled_store: tuple[Path, list[JobRef]],
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
    filled_store: tuple[Path, list[JobRef]],
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
    filled_store: tuple[Path, list[JobRef]],
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
