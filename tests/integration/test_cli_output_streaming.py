"""`dlf-status history --json` over many pages: written a page at a time (the first
documents are on stdout before the next page is read, so `--limit 10000` holds one
page, not ten thousand documents), and byte for byte the merged page document that
`pretty_bytes` writes, whatever the number of pages and documents."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dlf_status import bootstrap
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain.jsoncodec import pretty_bytes
from dlf_status.domain.model import JobRef
from dlf_status.entrypoints.cli import main
from dlf_status.service import SnapshotWriter
from tests.support.read_models import assert_valid, observe

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
OBSERVED = 230  # three pages of at most 100


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("streaming")
    local = LocalDirectoryStore(root)
    writer = SnapshotWriter(local)
    job = JobRef.parse(PROJECT, "stream\u540d")
    start = datetime.now(UTC) - timedelta(days=1)
    for minute in range(OBSERVED):
        status = ("NORMAL", "EXCEPTION")[minute % 2]
        observe(local, job, status, start + timedelta(minutes=minute), {"n1": status}, writer)
    return root


@pytest.fixture
def stdout(store: Path, monkeypatch: pytest.MonkeyPatch) -> io.BytesIO:
    """What the command writes to stdout (set by `run`: pytest's capture sets
    sys.stdout again between a fixture and the test)."""
    for name in ("DLF_ENDPOINT", "DLF_REGION", "DLF_AK", "DLF_SK", "DLF_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SNAPSHOT_URI", str(store))
    return io.BytesIO()


def run(stdout: io.BytesIO, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    wrapper = io.TextIOWrapper(stdout, encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", wrapper)
        code = main(list(argv))
    wrapper.detach()  # the bytes stay readable
    return code


@pytest.mark.parametrize(("limit", "documents", "more"), [(300, OBSERVED, False), (150, 150, True)])
def test_the_streamed_document_is_the_merged_page_document(
    stdout: io.BytesIO, monkeypatch: pytest.MonkeyPatch, limit: int, documents: int, more: bool
) -> None:
    argv = ["history", PROJECT, "stream\u540d", "--limit", str(limit), "--json"]
    assert run(stdout, monkeypatch, *argv) == 0
    data = stdout.getvalue()
    value = json.loads(data)
    assert data == pretty_bytes(value) + b"\n"
    assert_valid(value, "history-page.v1.schema.json")
    assert len(value["documents"]) == documents
    times = [document["observed_at"] for document in value["documents"]]
    assert times == sorted(times, reverse=True)
    assert (value["next_cursor"] is not None) == more
    assert value["job_name"] == "stream\u540d"


def test_a_job_with_no_document_is_an_empty_array(
    stdout: io.BytesIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(stdout, monkeypatch, "history", PROJECT, "nothing-here", "--json") == 0
    value = json.loads(stdout.getvalue())
    assert stdout.getvalue() == pretty_bytes(value) + b"\n"
    assert value["documents"] == []


def test_each_page_is_on_stdout_before_the_next_is_read(
    stdout: io.BytesIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    written_when_asked: list[int] = []
    build = bootstrap.build_store_reader

    def counting_reader(settings: Any) -> Any:
        reader = build(settings)
        history = reader.history

        def counted(*args: Any, **kwargs: Any) -> Any:
            written_when_asked.append(stdout.getvalue().count(b'"observed_at"'))
            return history(*args, **kwargs)

        monkeypatch.setattr(reader, "history", counted)
        return reader

    monkeypatch.setattr(bootstrap, "build_store_reader", counting_reader)
    argv = ["history", PROJECT, "stream\u540d", "--limit", "230", "--json"]
    assert run(stdout, monkeypatch, *argv) == 0
    # Each status document holds one "observed_at" (the page document none of its own).
    assert written_when_asked == [0, 100, 200]
