"""The replay upstream's fixtures (`demo --fixtures DIR`) are a user's files: one
that cannot be a recorded exchange is one line naming it, exit 2, never an internal
error, and never a read without end (a FIFO nobody writes, /dev/zero)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.devtools.replay import NOT_FOUND_FIXTURE, RECORDED, load_exchange
from dlf_status.entrypoints.cli import main
from dlf_status.errors import InvalidInput

FIXTURE = f"{NOT_FOUND_FIXTURE}.json"


def fifo(path: Path) -> None:
    os.mkfifo(path)


def zeros(path: Path) -> None:
    path.symlink_to("/dev/zero")


def directory(path: Path) -> None:
    path.mkdir()


def loop(path: Path) -> None:
    path.symlink_to(path.name)


def not_utf8(path: Path) -> None:
    path.write_bytes(b"\xff\xfe{}")


def both_bodies(path: Path) -> None:
    path.write_text('{"status": 404, "headers": {}, "body": {}, "body_text": ""}')


def status_600(path: Path) -> None:
    path.write_text('{"status": 600, "headers": {}, "body": {}}')


BREAKERS: list[Callable[[Path], None]] = [
    fifo,
    zeros,
    directory,
    loop,
    not_utf8,
    both_bodies,
    status_600,
]


def fixtures_with(tmp_path: Path, breaker: Callable[[Path], None] | None) -> Path:
    copied = tmp_path / "fixtures"
    shutil.copytree(str(RECORDED), copied)
    (copied / FIXTURE).unlink()
    if breaker is not None:
        breaker(copied / FIXTURE)
    return copied


@pytest.mark.parametrize("breaker", [*BREAKERS, None], ids=lambda b: getattr(b, "__name__", "gone"))
def test_a_fixture_that_cannot_be_read_is_one_line_naming_it_and_exit_2(
    breaker: Callable[[Path], None] | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fixtures = fixtures_with(tmp_path, breaker)

    code = main(["demo", "--fixtures", str(fixtures), "--snapshots", str(tmp_path / "s")])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert FIXTURE in err
    assert "internal error" not in err


@settings(max_examples=60)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_are_an_exchange_or_invalid_input(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "any.json").write_bytes(data)
        try:
            exchange = load_exchange(Path(directory), "any")
            error = None
        except InvalidInput as refused:
            exchange, error = None, refused
    if error is not None:
        assert "any.json" in error.detail
    else:
        assert exchange is not None
        assert 100 <= exchange.status <= 599
