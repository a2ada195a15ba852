"""A function's init tries a local snapshot store before any call (startup.py): a place
it cannot write is the configuration problem; a writable one is left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlf_status.entrypoints.startup import check_local_store
from dlf_status.errors import ConfigurationError
from tests.support.root import root_settings


def test_a_directory_still_to_create_under_a_writable_parent_is_accepted_untouched(
    tmp_path: Path,
) -> None:
    check_local_store(root_settings(SNAPSHOT_URI=str(tmp_path / "a" / "b")))

    assert list(tmp_path.iterdir()) == []  # the probe left nothing, not even the directory


def test_a_place_below_a_file_is_refused_naming_the_variable_and_the_path(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("in the way")

    with pytest.raises(ConfigurationError, match=r"^SNAPSHOT_URI .* cannot be written \(") as e:
        check_local_store(root_settings(SNAPSHOT_URI=str(tmp_path / "file" / "snapshots")))

    assert f"({tmp_path / 'file' / 'snapshots'})" in e.value.detail
    assert "Not a directory" in e.value.detail
