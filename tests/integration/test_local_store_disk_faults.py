"""The local directory store (the default `./snapshots`) on a file system that fails,
a real one: a small tmpfs in a private mount namespace that fills up or turns
read-only, a file size limit (RLIMIT_FSIZE), a tree with a directory where a file
belongs. Whatever fails, the writer reports one precise line (the errno's name and
the key), the previous snapshot stays whole and readable, no reader sees a partial
file, and the next writer with space completes the transition chain as it does after
a killed writer."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from dlf_status.adapters import store_local
from dlf_status.adapters.store_local import STAGING_DIRECTORY, LocalDirectoryStore
from dlf_status.domain import jsoncodec
from dlf_status.domain.normalize import content_hash
from dlf_status.errors import StoreError, StoreFileSystemError, WriteOutcomeUnknown
from dlf_status.service import SnapshotWriter
from tests.concurrency.dying_writer import JOB, T0, observation
from tests.integration.conftest import PROJECT, exchange_response, match_path
from tests.support.private_tmpfs import PrivateTmpfs, private_tmpfs
from tests.support.transitions import assert_chain

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[2]
PAGE = os.sysconf("SC_PAGE_SIZE")  # tmpfs hands out space a page at a time
ENV = {**os.environ, "PYTHONPATH": str(REPOSITORY)}


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[PrivateTmpfs]:
    with private_tmpfs(tmp_path / "mnt", "256k") as mounted:
        yield mounted


def write(tmpfs: PrivateTmpfs, status: str, minute: int) -> tuple[int, dict[str, Any]]:
    """One observation written by a process inside the tmpfs's namespace."""
    done = tmpfs.run(
        [
            sys.executable,
            "-m",
            "tests.support.local_store_writer",
            str(tmpfs.mount_point / "snapshots"),
            status,
            str(minute),
        ],
        env=ENV,
        cwd=REPOSITORY,
    )
    assert done.returncode in (0, 5), done.stderr  # never a traceback
    [line] = done.stdout.splitlines()
    return done.returncode, json.loads(line)


def visible_files(root: Path) -> dict[str, bytes]:
    """What a reader of the tree sees (listings skip hidden names and lock files)."""
    found: dict[str, bytes] = {}
    for directory, directories, files in os.walk(root):
        directories[:] = [name for name in directories if not name.startswith(".")]
        for name in files:
            if not name.startswith(".") and not name.endswith(".lock"):
                path = Path(directory) / name
                found[str(path.relative_to(root))] = path.read_bytes()
    return found


def staged_leftovers(root: Path) -> list[str]:
    staging = root / STAGING_DIRECTORY
    return sorted(entry.name for entry in staging.iterdir()) if staging.exists() else []


def fill(tmpfs: PrivateTmpfs, pages_left: int) -> Path:
    """A file that leaves `pages_left` pages free."""
    filler = tmpfs.seen_from_here / "filler"
    size = tmpfs.free_bytes() - pages_left * PAGE
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(size, 0))
    assert tmpfs.free_bytes() == pages_left * PAGE
    return filler


def latest_of(files: dict[str, bytes]) -> dict[str, Any]:
    [body] = [body for key, body in files.items() if key.startswith("latest/")]
    loaded: dict[str, Any] = jsoncodec.loads(body)
    return loaded


def assert_whole_chain(files: dict[str, bytes], held: Sequence[Mapping[str, Any]]) -> None:
    records = [
        jsoncodec.loads(body) for key, body in files.items() if key.startswith("transitions/")
    ]
    assert_chain(records, held)
    history = [key for key in files if key.startswith("history/")]
    for version in held:
        digest = content_hash(version)
        assert [key for key in history if key.endswith(f"-{digest[:16]}.json")], version


def assert_one_precise_line(failure: dict[str, Any], errno_name: str, tmpfs: PrivateTmpfs) -> None:
    assert failure["error"] == "StoreFileSystemError"
    assert failure["errno_name"] == errno_name
    detail = failure["detail"]
    assert detail.isprintable()
    assert errno_name in detail
    assert str(tmpfs.mount_point) not in detail  # the key, not where this machine keeps it


# Each file of a write is smaller than a page, and written in this order: the history
# object, the staged record, latest.json's metadata then its body (staged, renamed);
# the swap frees the old latest.json's two pages, where the published record goes. So
# the disk fills at each write in turn, and from four pages on never.
@pytest.mark.parametrize(
    ("pages_left", "failing_write"),
    [(0, "history/"), (1, "_dlf-status/"), (2, "latest/"), (3, "latest/"), (4, None), (5, None)],
)
def test_a_disk_that_fills_at_any_write_loses_nothing_and_the_next_writer_completes(
    tmpfs: PrivateTmpfs, pages_left: int, failing_write: str | None
) -> None:
    root = tmpfs.seen_from_here / "snapshots"
    first, second, third = (
        observation("NORMAL", 0),
        observation("EXCEPTION", 1),
        observation("STOPPED", 2),
    )
    assert write(tmpfs, "NORMAL", 0)[0] == 0
    filler = fill(tmpfs, pages_left)

    code, result = write(tmpfs, "EXCEPTION", 1)

    left = visible_files(root)
    for key, body in left.items():
        assert jsoncodec.loads(body), key  # nothing partial is ever visible
    assert staged_leftovers(root) == []
    held_now = latest_of(left)
    if failing_write is None:
        assert (code, held_now) == (0, second)
    else:
        assert (code, held_now) == (5, first)  # the previous snapshot, whole
        assert_one_precise_line(result, "ENOSPC", tmpfs)
        assert result["detail"].startswith(f"cannot write {failing_write}")

    filler.unlink()
    assert write(tmpfs, "STOPPED", 2)[0] == 0  # the next writer, with space

    held = [first, second, third] if held_now == second else [first, third]
    assert_whole_chain(visible_files(root), held)


def test_a_record_that_cannot_be_published_after_the_swap_is_published_by_the_next_writer(
    tmp_path: Path,
) -> None:
    """The one partial write no fill point reaches: latest.json replaced, its record not
    published (here a file where `transitions/` belongs: ENOTDIR)."""
    root = tmp_path / "snapshots"
    store = LocalDirectoryStore(root)
    first, second, third = (
        observation("NORMAL", 0),
        observation("EXCEPTION", 1),
        observation("STOPPED", 2),
    )
    SnapshotWriter(store).write(JOB, first, T0)
    (root / "transitions").write_bytes(b"in the way")

    with pytest.raises(
        StoreError, match=r"is not published yet \(cannot write transitions/\S+: ENOTDIR "
    ):
        SnapshotWriter(store).write(JOB, second, T0)
    assert latest_of(visible_files(root)) == second  # it owes its record

    (root / "transitions").unlink()
    written = SnapshotWriter(store).write(JOB, third, T0)

    assert (written.transitions, written.repaired) == (1, 1)
    assert_whole_chain(visible_files(root), [first, second, third])


def test_a_store_turned_read_only_between_two_writes_fails_precisely_and_recovers(
    tmpfs: PrivateTmpfs,
) -> None:
    root = tmpfs.seen_from_here / "snapshots"
    first, third = observation("NORMAL", 0), observation("STOPPED", 2)
    assert write(tmpfs, "NORMAL", 0)[0] == 0
    before = visible_files(root)

    tmpfs.remount("ro")
    code, result = write(tmpfs, "EXCEPTION", 1)

    assert code == 5
    assert_one_precise_line(result, "EROFS", tmpfs)
    assert visible_files(root) == before
    tmpfs.remount("rw")
    assert write(tmpfs, "STOPPED", 2)[0] == 0
    assert_whole_chain(visible_files(root), [first, third])


def cli(
    tmpfs: PrivateTmpfs, *argv: str, upstream: HTTPServer | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **ENV,
        "SNAPSHOT_URI": str(tmpfs.mount_point / "snapshots"),
        "DLF_AUTH_TOKEN": "disk-fault-token-not-a-secret",
    }
    if upstream is not None:
        env["DLF_ENDPOINT"] = upstream.url_for("").rstrip("/")
    return tmpfs.run(
        [sys.executable, "-m", "dlf_status.entrypoints.cli", *argv], env=env, cwd=REPOSITORY
    )


def test_cli_get_on_a_full_disk_answers_says_one_line_and_the_fleet_still_reads(
    tmpfs: PrivateTmpfs, upstream: HTTPServer
) -> None:
    upstream.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    fill(tmpfs, 0)

    got = cli(tmpfs, "get", PROJECT, "job_sms", upstream=upstream)

    assert got.returncode == 5, got.stderr
    assert json.loads(got.stdout)["job"]["status"] == "NORMAL"  # the answer is still given
    [line] = got.stderr.splitlines()
    assert "ENOSPC" in line
    assert str(tmpfs.mount_point) not in line
    assert "Traceback" not in got.stderr


def test_cli_reads_serve_the_previous_snapshot_from_a_full_read_only_disk(
    tmpfs: PrivateTmpfs,
) -> None:
    assert write(tmpfs, "NORMAL", 0)[0] == 0
    fill(tmpfs, 0)
    tmpfs.remount("ro")

    fleet = cli(tmpfs, "fleet", PROJECT, "--json")
    history = cli(tmpfs, "history", PROJECT, "dying", "--json")

    assert fleet.returncode == 0, fleet.stderr
    assert "NORMAL" in fleet.stdout
    assert history.returncode == 0, history.stderr
    assert "NORMAL" in history.stdout


# A file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) cuts a write at any byte of any file.
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(limit=st.integers(min_value=0, max_value=700))
def test_a_file_size_limit_at_any_byte_loses_nothing(
    tmp_path_factory: pytest.TempPathFactory, limit: int
) -> None:
    root = tmp_path_factory.mktemp("fsize") / "snapshots"

    def write_limited(status: str, minute: int, fsize: str = "") -> tuple[int, dict[str, Any]]:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.support.local_store_writer",
                str(root),
                status,
                str(minute),
                fsize,
            ],
            env=ENV,
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode in (0, 5), done.stderr
        [line] = done.stdout.splitlines()
        return done.returncode, json.loads(line)

    first, second, third = (
        observation("NORMAL", 0),
        observation("EXCEPTION", 1),
        observation("STOPPED", 2),
    )
    assert write_limited("NORMAL", 0)[0] == 0
    code, result = write_limited("EXCEPTION", 1, str(limit))

    left = visible_files(root)
    for key, body in left.items():
        assert jsoncodec.loads(body), key
    assert staged_leftovers(root) == []
    held_now = latest_of(left)
    assert held_now in (first, second)
    if code == 5:
        assert result["errno_name"] == "EFBIG"
        assert str(root) not in result["detail"]
    assert write_limited("STOPPED", 2)[0] == 0
    held = [first, second, third] if held_now == second else [first, third]
    assert_whole_chain(visible_files(root), held)


def test_metadata_that_cannot_be_read_fails_the_read_instead_of_hiding_an_owed_record(
    tmp_path: Path,
) -> None:
    store = LocalDirectoryStore(tmp_path)
    key = "latest/x/latest.json"
    version = store.replace(key, b"{}", {"transition-record": "a" * 64}, None)
    assert version is not None
    [metadata] = (tmp_path / "latest/x").glob(".latest.json.*.meta")
    metadata.unlink()
    metadata.mkdir()  # a directory where the metadata file belongs

    with pytest.raises(
        StoreFileSystemError,
        match=r"^cannot read the metadata of latest/x/latest\.json: EISDIR \(Is a directory\)$",
    ) as raised:
        store.get(key)
    assert raised.value.errno_name == "EISDIR"


def test_a_directory_where_latest_json_belongs_is_one_precise_error(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    (tmp_path / "latest/x/latest.json").mkdir(parents=True)

    with pytest.raises(
        StoreFileSystemError,
        match=r"^cannot read latest/x/latest\.json: EISDIR \(Is a directory\)$",
    ):
        store.get("latest/x/latest.json")
    with pytest.raises(
        StoreFileSystemError,
        match=r"^cannot read latest/x/latest\.json: EISDIR \(Is a directory\)$",
    ):
        store.replace("latest/x/latest.json", b"{}", {}, None)


@pytest.mark.parametrize(
    "key",
    [
        "history/d/x.json",  # below the file: the open says ENOTDIR
        "history/x.json",  # right below it: mkdir says EEXIST, "the object exists": ENOTDIR
    ],
)
def test_a_file_where_a_directory_belongs_is_one_precise_error(tmp_path: Path, key: str) -> None:
    store = LocalDirectoryStore(tmp_path)
    (tmp_path / "history").write_bytes(b"not a directory")
    line = rf"^cannot write {re.escape(key)}: ENOTDIR \("

    with pytest.raises(StoreFileSystemError, match=line) as raised:
        store.create(key, b"{}", {})
    assert raised.value.errno_name == "ENOTDIR"
    assert str(tmp_path) not in raised.value.detail
    with pytest.raises(StoreFileSystemError, match=line):
        store.replace(key, b"{}", {}, None)


def test_a_symbolic_link_where_latest_json_belongs_is_refused_without_the_root_s_path(
    tmp_path: Path,
) -> None:
    store = LocalDirectoryStore(tmp_path / "snapshots")
    (tmp_path / "snapshots/latest/x").mkdir(parents=True)
    (tmp_path / "snapshots/latest/x/latest.json").symlink_to(tmp_path / "elsewhere.json")

    with pytest.raises(
        StoreError, match=r"^refusing latest/x/latest\.json: a symbolic link"
    ) as raised:
        store.replace("latest/x/latest.json", b"{}", {}, None)
    assert str(tmp_path) not in raised.value.detail
    assert not (tmp_path / "elsewhere.json").exists()


# Enough for the interpreter and a few jobs at once, not for 16: the tick's writers
# meet EMFILE at whichever open comes when the table is full.
DESCRIPTORS = 20


def test_a_tick_out_of_file_descriptors_reports_each_job_and_the_next_tick_recovers(
    tmp_path: Path, upstream: HTTPServer
) -> None:
    upstream.expect_request(re.compile(r"/v1/.*/status")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    jobs = tmp_path / "jobs.json"
    jobs.write_text(
        json.dumps([{"project_id": PROJECT, "job_name": f"job_{n}"} for n in range(40)])
    )
    env = {
        **ENV,
        "SNAPSHOT_URI": str(tmp_path / "snapshots"),
        "DLF_AUTH_TOKEN": "disk-fault-token-not-a-secret",
        "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
        "POLL_CONCURRENCY": "16",
    }

    def poll(limited: bool) -> subprocess.CompletedProcess[str]:
        # prlimit(1), not a preexec_fn: the upstream's thread runs in this process, and
        # a preexec_fn in a threaded parent may deadlock (subprocess's documentation).
        limit = ["prlimit", f"--nofile={DESCRIPTORS}:{DESCRIPTORS}", "--"] if limited else []
        return subprocess.run(
            [
                *limit,
                sys.executable,
                "-m",
                "dlf_status.entrypoints.cli",
                "poll",
                "--jobs",
                str(jobs),
            ],
            env=env,
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    starved = poll(limited=True)

    assert starved.returncode in (0, 1), starved.stderr
    assert "Traceback" not in starved.stderr
    rows = [line.split() for line in starved.stdout.splitlines() if line.startswith("job_")]
    assert len(rows) == 40
    for row in rows:
        assert (
            row[1] == "ok"
            or "StoreFileSystemError" in row
            or "WriteOutcomeUnknown" in row  # linked, then EMFILE at the directory's fsync
            or any(word.startswith("Upstream") for word in row)
        ), row
    assert any(row[1] != "ok" for row in rows), "the descriptor limit never bit"
    assert staged_leftovers(tmp_path / "snapshots") == []
    for key, body in visible_files(tmp_path / "snapshots").items():
        assert jsoncodec.loads(body), key

    again = poll(limited=False)

    assert again.returncode == 0, again.stdout + again.stderr
    assert (
        len(
            latest_keys := [
                k for k in visible_files(tmp_path / "snapshots") if k.startswith("latest/")
            ]
        )
        == 40
    ), latest_keys


def warned_keys(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        str(getattr(record, "key", ""))
        for record in caplog.records
        if record.getMessage() == "store entry not listed"
    ]


def test_a_listing_says_which_entry_it_cannot_list_instead_of_skipping_it_silently(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "snapshots"
    store = LocalDirectoryStore(root)
    store.create("latest/a/latest.json", b"{}", {})
    (root / "latest/b").mkdir()
    (root / "latest/b/latest.json").symlink_to(root / "latest/a/latest.json")
    (root / "history").write_bytes(b"a file where the history directory belongs")

    listed = store.list_objects("latest/")
    below_history = store.list_objects("history/j/")

    assert [item.key for item in listed.objects] == ["latest/a/latest.json"]
    assert below_history.objects == ()
    assert warned_keys(caplog) == ["latest/b/latest.json", "history"]


def test_an_empty_store_lists_nothing_and_warns_of_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = LocalDirectoryStore(tmp_path / "snapshots")
    (tmp_path / "snapshots").mkdir()

    assert store.list_objects("history/j/").objects == ()
    assert warned_keys(caplog) == []


def test_serve_on_a_full_disk_answers_says_failed_and_still_serves_the_previous_snapshot(
    tmpfs: PrivateTmpfs, upstream: HTTPServer
) -> None:
    upstream.expect_ordered_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    upstream.expect_ordered_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2019-seven-nodes")
    )
    env = {
        **ENV,
        "SNAPSHOT_URI": str(tmpfs.mount_point / "snapshots"),
        "DLF_AUTH_TOKEN": "disk-fault-token-not-a-secret",
        "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
    }
    server = tmpfs.popen(
        [sys.executable, "-m", "dlf_status.entrypoints.cli", "serve", "--port", "0"],
        env=env,
        cwd=REPOSITORY,
    )
    try:
        assert server.stderr is not None
        base = re.search(r"http://127\.0\.0\.1:\d+", server.stderr.readline())
        assert base is not None
        status_url = f"{base[0]}/v1/{PROJECT}/jobs/job_sms/status"
        first = requests.get(status_url, timeout=60)
        fill(tmpfs, 0)
        second = requests.get(status_url, timeout=60)
        fleet = requests.get(f"{base[0]}/v1/{PROJECT}/jobs", timeout=60)
    finally:
        server.terminate()
        server.wait()
        if server.stderr is not None:
            server.stderr.close()

    assert (first.status_code, first.headers["X-Dlf-Snapshot"]) == (200, "changed")
    assert (second.status_code, second.headers["X-Dlf-Snapshot"]) == (200, "failed")
    assert len(second.json()["nodes"]) != len(first.json()["nodes"])  # a new answer
    assert fleet.status_code == 200, fleet.text
    [row] = fleet.json()["jobs"]
    assert row["observed_at"] == first.json()["observed_at"]  # the previous snapshot, served


def test_a_created_object_whose_directory_cannot_be_synced_is_an_unknown_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link is made, then the directory's fsync fails (EIO: nothing on tmpfs or
    ext4 fails it on demand, so the fault is injected there). The object is this
    call's: a plain failure would make the writer skip the event it owes, and the
    next writer, finding the record there, would never send it."""
    store = LocalDirectoryStore(tmp_path)

    def failing_fsync(directory: Path) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(store_local, "_fsync_directory", failing_fsync)
    with pytest.raises(WriteOutcomeUnknown, match=r"^cannot write records/x\.json: EIO \("):
        store.create("records/x.json", b"{}", {})
    monkeypatch.undo()
    assert (tmp_path / "records/x.json").read_bytes() == b"{}"
    assert store.create("records/x.json", b"{}", {}) is False
    assert staged_leftovers(tmp_path) == []


def test_a_staged_file_that_cannot_be_removed_still_releases_its_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The staged file's descriptor holds the lock the sweep respects: leaked, it would
    keep the file from ever being swept and, write after write, exhaust descriptors."""
    store = LocalDirectoryStore(tmp_path)
    store.create("records/warm.json", b"{}", {})  # the staging directory exists
    real_unlink = Path.unlink

    def failing_unlink(path: Path, missing_ok: bool = False) -> None:
        if path.suffix == ".tmp":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_unlink(path, missing_ok=missing_ok)

    open_before = len(list(Path("/proc/self/fd").iterdir()))
    monkeypatch.setattr(Path, "unlink", failing_unlink)
    with pytest.raises(WriteOutcomeUnknown, match=r"EIO"):  # linked before the unlink
        store.create("records/y.json", b"{}", {})
    monkeypatch.undo()
    assert len(list(Path("/proc/self/fd").iterdir())) == open_before


def test_a_loop_of_symbolic_links_at_a_key_is_a_store_failure_without_the_root_s_path(
    tmp_path: Path,
) -> None:
    """Path.resolve raises RuntimeError on a loop (Python 3.11), quoting the path: an
    internal error with the machine's path in it, where a store failure belongs."""
    store = LocalDirectoryStore(tmp_path)
    directory = tmp_path / "latest/b"
    directory.mkdir(parents=True)
    (directory / "loop1").symlink_to("loop2")
    (directory / "loop2").symlink_to("loop1")
    (directory / "latest.json").symlink_to("loop1")

    for attempt in (
        lambda: store.get("latest/b/latest.json"),
        lambda: store.replace("latest/b/latest.json", b"{}", {}, None),
    ):
        with pytest.raises(StoreFileSystemError, match=r"latest/b/latest\.json: ELOOP") as raised:
            attempt()
        assert str(tmp_path) not in raised.value.detail


def test_a_pipe_where_an_object_belongs_is_refused_instead_of_blocking_the_reader(
    tmp_path: Path,
) -> None:
    """A blocking open of a FIFO waits for a writer for ever (a Lambda would time out);
    a device would be read without end."""
    store = LocalDirectoryStore(tmp_path)
    version = store.replace("latest/c/latest.json", b"{}", {"transition-record": "a" * 64}, None)
    assert version is not None
    [metadata] = (tmp_path / "latest/c").glob(".latest.json.*.meta")
    metadata.unlink()
    os.mkfifo(metadata)
    with pytest.raises(StoreFileSystemError, match=r"^cannot read the metadata of latest/c/"):
        store.get("latest/c/latest.json")

    (tmp_path / "latest/c/latest.json").unlink()
    os.mkfifo(tmp_path / "latest/c/latest.json")
    with pytest.raises(
        StoreFileSystemError,
        match=r"^cannot read latest/c/latest\.json: EINVAL \(not a regular file\)$",
    ):
        store.get("latest/c/latest.json")
