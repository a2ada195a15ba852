"""DuckDB, Polars and pandas over a store whose early files hold nulls where later
files hold values: the README's blocks read every value of every file, as the files
hold it; and the readers' defaults the README warns about do lose them (so the warning
stays true, and a reader that stops losing them is noticed).

Found this way: DuckDB without `union_by_name` types a column from the first 32 files
and Polars' `scan_ndjson` from the first file: a transition's `from` (null for a node
that appeared) or `source.workspace` (null for no workspace) that is null there reads
NULL in every later file, silently; pandas' `read_json` turns a job named 007 into 7,
schema version "1.10" into 1.1, and refuses a counter past 64 bits.

The store: 33 jobs without a workspace, each a transition from null (a node appears),
then a job that fails (NORMAL -> EXCEPTION), the same in a workspace, a job named
"007", counters past 64 bits, and documents of schema 1.0 beside 1.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import duckdb
import pandas as pd  # type: ignore[import-untyped]  # no stubs: only this test uses it
import polars as pl
import pytest

from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.model import JobRef
from dlf_status.service import SnapshotWriter
from tests.support.consumer_store import readme_blocks
from tests.support.documents import status_document

pytestmark = pytest.mark.integration

PROJECT = "p1"
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
BIG = 2**64 + 1
EARLY_JOBS = 33  # more than DuckDB's 32 sampled files


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store, under a directory named `snapshots` (as the README's blocks read it)."""
    root = tmp_path_factory.mktemp("engines") / "snapshots"
    writer = SnapshotWriter(LocalDirectoryStore(root))
    for number in range(EARLY_JOBS):
        job = JobRef.parse(PROJECT, f"a{number:02}")
        writer.write(job, status_document(job, "NORMAL", T0), T0)
        moment = T0 + timedelta(minutes=1)
        writer.write(job, status_document(job, "NORMAL", moment, {"n": "NORMAL"}), moment)
    later = [
        JobRef.parse(PROJECT, "b-failing"),
        *(JobRef.parse(PROJECT, name, "ws1") for name in ("007", "z-failing")),
    ]
    for job in later:
        for minutes, status in ((2, "NORMAL"), (3, "EXCEPTION")):
            moment = T0 + timedelta(minutes=minutes)
            document: dict[str, Any] = dict(status_document(job, status, moment, {"n": status}))
            if status == "NORMAL":
                document["schema_version"] = "1.0"  # as an earlier release wrote it
            document["nodes"][0]["metrics"]["total_put_bytes"] = BIG
            writer.write(job, cast(StatusDocument, document), moment)
    return root


def files(root: Path, part: str) -> list[dict[str, Any]]:
    return [json.loads(path.read_bytes()) for path in sorted((root / part).rglob("*.json"))]


def changes_in_files(root: Path) -> list[tuple[str, str, str | None, str | None]]:
    """(observed_at, job, from, to) of every change of every transition record."""
    return sorted(
        (record["observed_at"], record["source"]["job_name"], change["from"], change["to"])
        for record in files(root, "transitions")
        for change in record["changes"]
    )


def test_the_store_has_what_the_readers_are_tested_on(snapshots: Path) -> None:
    changes = changes_in_files(snapshots)
    assert sum(1 for change in changes if change[2] is None) >= EARLY_JOBS
    for job_name in ("b-failing", "z-failing"):
        assert ("2026-11-25T08:03:00.000Z", job_name, "NORMAL", "EXCEPTION") in changes
    workspaces = [document["source"]["workspace"] for document in files(snapshots, "history")]
    assert workspaces[:EARLY_JOBS] == [None] * EARLY_JOBS  # what DuckDB samples first
    assert "ws1" in workspaces


def duckdb_rows(query: str, root: Path) -> list[tuple[Any, ...]]:
    connection = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    return connection.sql(query.replace("snapshots/", f"{root}/")).fetchall()


def readme_sql(first_line: str) -> str:
    """The README's SQL block that starts with `first_line`."""
    [query] = [block for block in readme_blocks("sql") if block.startswith(first_line)]
    return query


TRANSITIONS_QUERY = "-- every status change"
HISTORY_QUERY = "-- every observation"


def test_the_readme_transitions_query_reads_every_change(snapshots: Path) -> None:
    rows = duckdb_rows(readme_sql(TRANSITIONS_QUERY), snapshots)
    read = sorted(
        (observed_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), job_name, change["from"], change["to"])
        for _project, _workspace, job_name, observed_at, changes in rows
        for change in changes
    )
    assert read == changes_in_files(snapshots)
    assert {row[1] for row in rows} == {None, "ws1"}


def test_the_readme_history_query_reads_the_workspaces_and_versions(snapshots: Path) -> None:
    query = readme_sql(HISTORY_QUERY).replace(
        "SELECT job_name,", "SELECT source.workspace, schema_version, job_name,"
    )
    rows = duckdb_rows(query, snapshots)
    expected = sorted(
        (document["source"]["workspace"] or "", document["schema_version"])
        for document in files(snapshots, "history")
    )
    assert sorted((row[0] or "", row[1]) for row in rows) == expected
    assert {row[1] for row in rows} == {"1.0", "1.1"}


def test_duckdb_without_union_by_name_loses_the_later_values(snapshots: Path) -> None:
    """The README's warning: the first 32 files type the columns."""
    query = readme_sql(TRANSITIONS_QUERY).replace(", union_by_name = true", "")
    assert "union_by_name" not in query
    rows = duckdb_rows(query, snapshots)
    froms = {change["from"] for row in rows for change in row[4]}
    assert froms == {None}  # NORMAL, of the failing jobs' changes, read as NULL


def run_block(marker: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    [block] = [block for block in readme_blocks("python") if marker in block]
    namespace: dict[str, Any] = {}
    monkeypatch.chdir(root.parent)
    exec(block, namespace)  # noqa: S102
    return namespace


def test_the_readme_polars_block_reads_every_value(
    snapshots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = run_block("import polars", snapshots, monkeypatch)
    changes: pl.DataFrame = namespace["changes"]
    read = sorted(
        (row["observed_at"], row["source"]["job_name"], row["from"], row["to"])
        for row in changes.iter_rows(named=True)
    )
    assert read == changes_in_files(snapshots)
    history: pl.DataFrame = namespace["history"]
    counters = [
        node["metrics"]["total_put_bytes"]
        for nodes in history["nodes"].to_list()
        for node in nodes
        if node["metrics"]["total_put_bytes"] is not None
    ]
    assert counters == [BIG] * 6  # two documents of each of the three later jobs
    assert sorted(history["schema_version"].unique().to_list()) == ["1.0", "1.1"]


def test_polars_scan_ndjson_loses_the_later_values(snapshots: Path) -> None:
    """The README's warning: scan_ndjson types each field from the first file (here
    the jobs without a workspace: the workspace one makes it fail instead)."""
    no_workspace = "project_id=p1/workspace=__HIVE_DEFAULT_PARTITION__"
    scanned = pl.scan_ndjson(snapshots / "transitions" / no_workspace / "**" / "*.json").collect()
    assert "b-failing" in scanned["job_name"].to_list()
    froms = {change["from"] for changes in scanned["changes"].to_list() for change in changes}
    assert froms == {None}


def test_the_readme_pandas_block_reads_every_value(
    snapshots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = run_block("import pandas", snapshots, monkeypatch)
    changes: pd.DataFrame = namespace["changes"]
    read = sorted(
        (row["observed_at"], row["source.job_name"], row["from"], row["to"])
        for row in changes.astype(object).where(changes.notna(), None).to_dict("records")
    )
    assert read == changes_in_files(snapshots)
    history: pd.DataFrame = namespace["history"]
    assert "007" in set(history["source.job_name"])
    assert sorted(set(history["schema_version"])) == ["1.0", "1.1"]
    counters = [
        node["metrics"]["total_put_bytes"]
        for nodes in history["nodes"]
        for node in nodes
        if node["metrics"]["total_put_bytes"] is not None
    ]
    assert counters == [BIG] * 6  # two documents of each of the three later jobs


def test_pandas_read_json_changes_names_and_versions_and_refuses_big_counters(
    snapshots: Path,
) -> None:
    """The README's warning, each part of it."""
    [record] = [
        path
        for path in sorted((snapshots / "transitions").rglob("*.json"))
        if "job_name=007/" in path.as_posix()
    ]
    read = pd.read_json(record, lines=True).to_dict("records")[0]
    assert (read["job_name"], read["schema_version"]) == (7, 1.0)  # "007", "1.0"
    kept = pd.read_json(record, lines=True, dtype=False).to_dict("records")[0]
    assert (kept["job_name"], kept["schema_version"]) == ("007", "1.0")
    history = sorted((snapshots / "history").rglob("*.json"))[-1]
    with pytest.raises(ValueError, match="Value is too big"):
        pd.read_json(history, lines=True, dtype=False)
