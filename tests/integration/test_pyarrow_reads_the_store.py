"""The store as pyarrow reads it (`pyarrow.dataset`, Hive partitioning): the README's
block runs here as written, over a store the real service filled with every golden
document and every hostile name."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import FilledStore
from tests.support.consumer_store import NULL_PARTITION, documents, read_back, readme_blocks

pytestmark = pytest.mark.integration


def readme_block() -> str:
    [block] = [block for block in readme_blocks("python") if "pyarrow.dataset" in block]
    return block


def as_read_by_pyarrow(value: str | None) -> str | None:
    """pyarrow compares the null partition after decoding: the literal reads as NULL."""
    return None if value == NULL_PARTITION else value


@pytest.mark.parametrize("part", ["latest", "history"])
def test_the_readme_block_reads_every_document_with_the_source_names(
    filled_store: FilledStore, part: str
) -> None:
    namespace: dict[str, Any] = {}
    code = readme_block().replace("snapshots/latest", f"{filled_store.root}/{part}")
    exec(code, namespace)  # noqa: S102

    rows = namespace["latest"].to_table().to_pylist()

    assert len(rows) == len(documents(filled_store.root, part))
    assert all(row["observed_at"] for row in rows)  # not the nulls of apache/arrow 45394
    for row in rows:
        source = row["source"]
        assert row["project_id"] == as_read_by_pyarrow(source["project_id"])
        assert row["workspace"] == as_read_by_pyarrow(source["workspace"])
        assert row["job_name"] == as_read_by_pyarrow(read_back(source["job_name"]))
    names = {row["source"]["job_name"]: row["job_name"] for row in rows}
    assert names["\ufdd0noncharacter"] == "\ufdd0noncharacter"  # per byte: read right
    assert names["作业" * 34].endswith("~" + read_back("作业" * 34)[-16:])
