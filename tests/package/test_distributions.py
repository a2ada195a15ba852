"""What the sdist and the wheel hold: every file of the package, its data included,
the README as the long description, and the same wheel from the sdist as from a checkout."""

from __future__ import annotations

import configparser
import hashlib
import tomllib
import zipfile
from pathlib import PurePosixPath
from typing import Any

import pytest
from packaging.metadata import Metadata
from packaging.requirements import Requirement

from tests.package.conftest import PACKAGE_DIR, Distributions, SourceTree

pytestmark = pytest.mark.integration

# sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt, the Apache Software
# Foundation's text of the license (its md5, 3b83ef96387f14655fc854ddc3c6bd57, is the
# checksum license scanners such as Yocto's record for it).
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def _project(source_tree: SourceTree) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(
        (source_tree.root / "pyproject.toml").read_text(encoding="utf-8")
    )["project"]
    return data


def _dist_info(source_tree: SourceTree) -> str:
    project = _project(source_tree)
    return f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"


def _package_files(source_tree: SourceTree) -> set[str]:
    """handler/dlf_status/... as the package sees it: dlf_status/..."""
    prefix = PACKAGE_DIR.as_posix() + "/"
    return {
        str(PurePosixPath(name).relative_to(PACKAGE_DIR.parent.as_posix()))
        for name in source_tree.files
        if name.startswith(prefix)
    }


def test_the_wheel_holds_every_file_of_the_package_and_nothing_else(
    source_tree: SourceTree, wheel_members: dict[str, bytes]
) -> None:
    shipped = {name for name in wheel_members if not name.startswith(_dist_info(source_tree))}

    assert shipped == _package_files(source_tree)


def test_the_wheel_ships_the_data_files_byte_for_byte(
    source_tree: SourceTree, wheel_members: dict[str, bytes]
) -> None:
    data_files = {name for name in _package_files(source_tree) if not name.endswith(".py")}

    assert {"dlf_status/spec/openapi.json", "dlf_status/py.typed"} <= data_files
    for name in sorted(data_files):
        source = source_tree.root / PACKAGE_DIR.parent / name
        assert wheel_members[name] == source.read_bytes(), name


def test_the_sdist_builds_the_same_wheel_as_the_checkout(distributions: Distributions) -> None:
    with (
        zipfile.ZipFile(distributions.wheel_from_sdist) as from_sdist,
        zipfile.ZipFile(distributions.wheel_from_tree) as from_tree,
    ):
        assert sorted(from_sdist.namelist()) == sorted(from_tree.namelist())
        differing = [
            name for name in from_sdist.namelist() if from_sdist.read(name) != from_tree.read(name)
        ]

    assert differing == []


def test_the_sdist_holds_the_build_inputs_and_the_sources_of_generated_files(
    source_tree: SourceTree, sdist_members: set[str]
) -> None:
    project = _project(source_tree)
    top = f"{project['name'].replace('-', '_')}-{project['version']}"
    expected = {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "PKG-INFO",
        "openapi.yaml",
        *(name for name in source_tree.files if name.startswith("schemas/")),
        *(f"{PACKAGE_DIR.parent.as_posix()}/{name}" for name in _package_files(source_tree)),
    }

    missing = {name for name in expected if f"{top}/{name}" not in sdist_members}

    assert missing == set()
    assert not [name for name in sdist_members if name.endswith((".pyc", ".pyo"))]


def test_the_wheel_metadata_carries_the_readme_and_the_declared_dependencies(
    source_tree: SourceTree, wheel_members: dict[str, bytes]
) -> None:
    project = _project(source_tree)
    metadata = Metadata.from_email(wheel_members[f"{_dist_info(source_tree)}/METADATA"])
    runtime = {
        str(requirement)
        for requirement in metadata.requires_dist or []
        if requirement.marker is None
    }
    readme = (source_tree.root / "README.md").read_text(encoding="utf-8")

    assert (metadata.name, str(metadata.version)) == (project["name"], project["version"])
    assert metadata.description_content_type == "text/markdown"
    assert (metadata.description or "").strip() == readme.strip()
    assert runtime == {str(Requirement(line)) for line in project["dependencies"]}


def test_the_wheel_declares_the_dlf_status_command(
    source_tree: SourceTree, wheel_members: dict[str, bytes]
) -> None:
    entry_points = configparser.ConfigParser()
    entry_points.read_string(
        wheel_members[f"{_dist_info(source_tree)}/entry_points.txt"].decode("utf-8")
    )

    assert dict(entry_points["console_scripts"]) == {
        "dlf-status": "dlf_status.entrypoints.console:main"
    }


def test_the_license_is_the_apache_2_0_text_and_both_distributions_carry_it(
    source_tree: SourceTree,
    wheel_members: dict[str, bytes],
    sdist_members: set[str],
) -> None:
    project = _project(source_tree)
    license_text = (source_tree.root / "LICENSE").read_bytes()
    metadata = Metadata.from_email(wheel_members[f"{_dist_info(source_tree)}/METADATA"])
    top = f"{project['name'].replace('-', '_')}-{project['version']}"

    assert hashlib.sha256(license_text).hexdigest() == APACHE_2_0_SHA256
    assert project["license"] == "Apache-2.0"
    assert str(metadata.license_expression) == "Apache-2.0"
    assert metadata.license_files == ["LICENSE"]
    assert wheel_members[f"{_dist_info(source_tree)}/licenses/LICENSE"] == license_text
    assert f"{top}/LICENSE" in sdist_members
