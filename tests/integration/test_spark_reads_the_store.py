"""The store as Spark reads it: its own Hive-style partition discovery, which decodes
each `%XX` of a partition value as one character (as Hive and Trino, so Athena, do),
over a store the real service filled with every golden document and every hostile
name. The README's PySpark block runs here as written.

One local Spark (local[1], no UI, small driver) for the module; the fixture stops it
and waits for its JVM to exit, so no process outlives the tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyspark import SparkContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import DataType, StructType

from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import encode_partition_value
from dlf_status.service import SnapshotWriter
from tests.integration.conftest import FilledStore
from tests.support.consumer_store import (
    NULL_PARTITION,
    documents,
    escaped_beyond_ascii,
    read_back,
    readme_blocks,
)
from tests.support.documents import status_document
from tests.support.hive import hive_unescape

pytestmark = pytest.mark.integration

INFERENCE = "spark.sql.sources.partitionColumnTypeInference.enabled"
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    assert shutil.which("java"), "Spark needs a Java runtime (17 or newer) on PATH"
    session = (
        SparkSession.builder.master("local[1]")
        .appName("dlf-status-consumer-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "512m")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    gateway = SparkContext._gateway
    assert gateway is not None
    try:
        # A JVM whose file names are not UTF-8 (a POSIX locale) skips every directory
        # named beyond ASCII: the README says to run Spark under a UTF-8 locale.
        jvm = session.sparkContext._jvm
        assert jvm is not None
        assert jvm.java.lang.System.getProperty("sun.jnu.encoding") == "UTF-8"
        yield session
    finally:
        session.stop()
        gateway.shutdown()
        SparkContext._gateway = None
        SparkContext._jvm = None
        process = gateway.proc
        process.stdin.close()  # the JVM exits when its stdin closes
        assert process.wait(timeout=120) is not None


def readme_spark_block() -> str:
    """The README's PySpark block (the one that builds a SparkSession)."""
    [block] = [block for block in readme_blocks("python") if "SparkSession" in block]
    return block


def run_readme_block(root: Path) -> dict[str, Any]:
    """The README's block as written, with `snapshots/` pointing at `root`: its
    getOrCreate() finds the fixture's session and sets the option it names."""
    namespace: dict[str, Any] = {}
    exec(readme_spark_block().replace("snapshots/", f"{root}/"), namespace)  # noqa: S102
    return namespace


def as_read_by_spark(name: str) -> str:
    """What a per-character reader shows for `name`: the README's cut form, with the
    few code points kept escaped beyond ASCII read as one character per byte."""
    return "".join(
        char.encode().decode("latin-1") if escaped_beyond_ascii(char) else char
        for char in read_back(name)
    )


def field_names(data_type: DataType) -> list[list[str]]:
    """The field names of every struct in `data_type`, one list per struct."""
    found: list[list[str]] = []
    if isinstance(data_type, StructType):
        found.append(data_type.fieldNames())
        for field in data_type.fields:
            found += field_names(field.dataType)
    for child in ("elementType", "valueType"):
        inner = getattr(data_type, child, None)
        if isinstance(inner, DataType):
            found += field_names(inner)
    return found


@pytest.mark.parametrize("part", ["latest", "history"])
def test_the_readme_block_reads_every_document_with_the_source_names(
    spark: SparkSession, filled_store: FilledStore, part: str
) -> None:
    frame: DataFrame = run_readme_block(filled_store.root)[part]

    rows = frame.select(
        "project_id",
        "workspace",
        "job_name",
        "source.project_id",
        "source.workspace",
        "source.job_name",
    ).collect()

    assert spark.conf.get(INFERENCE) == "false"  # the README's block set it
    assert len(rows) == len(documents(filled_store.root, part))
    for project, workspace, job_name, doc_project, doc_workspace, doc_job_name in rows:
        assert (project, workspace) == (doc_project, doc_workspace)
        assert job_name == as_read_by_spark(doc_job_name)
    names = {row[5]: row[2] for row in rows}
    assert names["作业/实时"] == "作业/实时"  # raw beyond ASCII, '/' escaped: both read right
    assert names["作业" * 34] == "作业" * 30 + "作~" + read_back("作业" * 34)[-16:]
    assert names["\ufdd0noncharacter"] != "\ufdd0noncharacter"  # the README's exception


def test_schema_inference_finds_no_two_columns_that_differ_only_by_case(
    spark: SparkSession, filled_store: FilledStore
) -> None:
    # Spark resolves columns case-insensitively: two such keys would fail the read.
    frame: DataFrame = run_readme_block(filled_store.root)["history"]

    structs = field_names(frame.schema)

    assert len(structs) > 10
    for names in structs:
        assert len({name.lower() for name in names}) == len(names), names
    assert "extra" in frame.columns


def test_counters_past_64_bits_come_back_exact(
    spark: SparkSession, filled_store: FilledStore
) -> None:
    frame: DataFrame = run_readme_block(filled_store.root)["history"]
    expected = {
        (document["observed_at"], node["name"], name, value)
        for document in documents(filled_store.root, "history")
        for node in document.get("nodes") or []
        for name, value in (node.get("metrics") or {}).items()
        if isinstance(value, int) and value >= 2**63
    }
    assert expected  # the goldens hold 2**64 and 2**65 byte counters

    metrics = frame.selectExpr("observed_at", "explode(nodes) AS node").selectExpr(
        "observed_at", "node.name", "node.metrics.total_get_bytes", "node.metrics.total_put_bytes"
    )
    found = {
        (observed_at, node, name, value)
        for observed_at, node, get_bytes, put_bytes in metrics.collect()
        for name, value in (("total_get_bytes", get_bytes), ("total_put_bytes", put_bytes))
        if isinstance(value, Decimal) and value >= 2**63
    }

    assert {(a, n, k, Decimal(v)) for a, n, k, v in expected} == found


def test_the_option_keeps_names_that_look_like_numbers_text(
    spark: SparkSession, tmp_path: Path
) -> None:
    writer = SnapshotWriter(LocalDirectoryStore(tmp_path))
    for project, name in [("0123", "007"), ("0123", "123"), ("0456", "1e3")]:
        job = JobRef.parse(project, name)
        writer.write(job, status_document(job, "NORMAL", T0), T0)
    root = str(tmp_path / "latest")

    def names(inference: str) -> set[tuple[Any, Any]]:
        spark.conf.set(INFERENCE, inference)
        frame = spark.read.option("basePath", root).json(root)
        return {(row.project_id, row.job_name) for row in frame.collect()}

    try:
        inferred = names("true")
        kept = names("false")
    finally:
        spark.conf.set(INFERENCE, "false")

    # Spark's default: numbers, which lose leading zeros (and '1e3' is 1000.0).
    assert not any(isinstance(value, str) for row in inferred for value in row)
    assert kept == {("0123", "007"), ("0123", "123"), ("0456", "1e3")}


def test_a_value_named_like_the_null_partition_reads_as_the_name(
    spark: SparkSession, tmp_path: Path
) -> None:
    writer = SnapshotWriter(LocalDirectoryStore(tmp_path))
    for workspace in (None, NULL_PARTITION):
        job = JobRef.parse("p1", NULL_PARTITION, workspace)
        writer.write(job, status_document(job, "NORMAL", T0), T0)
    root = str(tmp_path / "latest")
    assert encode_partition_value(NULL_PARTITION) != NULL_PARTITION

    rows = spark.read.option("basePath", root).json(root).select("workspace", "job_name").collect()

    assert sorted(rows, key=str) == sorted(
        [(None, NULL_PARTITION), (NULL_PARTITION, NULL_PARTITION)], key=str
    )
    assert hive_unescape(encode_partition_value(NULL_PARTITION)) == NULL_PARTITION
