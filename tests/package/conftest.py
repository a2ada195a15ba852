"""The package as a user gets it: the sdist and the wheel built from a clean copy of
the tree, and the wheel installed into a fresh virtualenv outside the tree.

Both builds run without build isolation (`python -m build --no-isolation`), with the
`build` frontend and the setuptools backend that the test extra pins in .venv, so they
need no index. Installing the wheel resolves its dependencies through pip with
constraints.txt: the versions `make install` already fetched, from pip's cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

import pytest
from pytest_httpserver import HTTPServer

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path("handler") / "dlf_status"
BUILD_TIMEOUT = 600


class SourceTree(NamedTuple):
    """A copy of the checkout's files (tracked, or new and not ignored)."""

    root: Path
    files: frozenset[str]  # paths relative to root, as git lists them


class Distributions(NamedTuple):
    sdist: Path
    wheel_from_sdist: Path  # what pip builds from the sdist
    wheel_from_tree: Path  # what `pip install .` builds from a checkout


class InstalledWheel(NamedTuple):
    venv: Path
    python: Path
    cli: Path
    workdir: Path  # a directory outside the source tree, for the cwd of every run


def run_checked(
    command: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float = BUILD_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def without_source_path() -> dict[str, str]:
    """The environment minus anything that would put the tree or .venv on sys.path."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
    }


def git_listed_files(root: Path) -> frozenset[str]:
    """What a fresh clone holds, plus new files not yet committed (but not ignored)."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.fail(f"tests/package copies the tree that git lists; git failed: {error}")
    names = (name for name in listing.decode("utf-8").split("\0") if name)
    return frozenset(name for name in names if (root / name).is_file())


@pytest.fixture(scope="session")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> SourceTree:
    """A clean copy, so a build neither writes into the checkout nor picks up its
    leftovers (setuptools ships whatever a stale build/lib still holds)."""
    files = git_listed_files(ROOT)
    copy = tmp_path_factory.mktemp("source") / "dlf-status"
    for name in files:
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return SourceTree(copy, files)


def _only(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {directory}, found {found}"
    return found[0]


@pytest.fixture(scope="session")
def distributions(
    source_tree: SourceTree, tmp_path_factory: pytest.TempPathFactory
) -> Distributions:
    build = [sys.executable, "-m", "build", "--no-isolation"]
    environment = without_source_path()
    via_sdist = tmp_path_factory.mktemp("dist-via-sdist")
    # no --sdist/--wheel: build makes the sdist, then the wheel from the unpacked sdist
    run_checked([*build, "--outdir", str(via_sdist), "."], cwd=source_tree.root, env=environment)
    from_tree = tmp_path_factory.mktemp("dist-from-tree")
    run_checked(
        [*build, "--wheel", "--outdir", str(from_tree), "."],
        cwd=source_tree.root,
        env=environment,
    )
    return Distributions(
        sdist=_only(via_sdist, "*.tar.gz"),
        wheel_from_sdist=_only(via_sdist, "*.whl"),
        wheel_from_tree=_only(from_tree, "*.whl"),
    )


@pytest.fixture(scope="session")
def wheel_members(distributions: Distributions) -> dict[str, bytes]:
    with zipfile.ZipFile(distributions.wheel_from_sdist) as wheel:
        return {name: wheel.read(name) for name in wheel.namelist()}


@pytest.fixture(scope="session")
def sdist_members(distributions: Distributions) -> set[str]:
    with tarfile.open(distributions.sdist) as sdist:
        return {member.name for member in sdist.getmembers() if member.isfile()}


@pytest.fixture(scope="session")
def installed_wheel(
    distributions: Distributions, tmp_path_factory: pytest.TempPathFactory
) -> InstalledWheel:
    """The wheel pip builds from the sdist, in a virtualenv of its own: no pip inside
    (the test's pip installs into it with --python), no access to .venv's packages."""
    environment = tmp_path_factory.mktemp("installed") / "venv"
    venv.EnvBuilder(with_pip=False, clear=True).create(environment)
    python = environment / "bin" / "python"
    workdir = tmp_path_factory.mktemp("workdir")
    run_checked(
        [
            sys.executable,
            "-m",
            "pip",
            "--disable-pip-version-check",
            "--quiet",
            "--python",
            str(python),
            "install",
            "--constraint",
            str(ROOT / "constraints.txt"),
            str(distributions.wheel_from_sdist),
        ],
        cwd=workdir,
        env=without_source_path(),
    )
    return InstalledWheel(environment, python, environment / "bin" / "dlf-status", workdir)


@pytest.fixture
def upstream(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """pytest-httpserver whose server-side assertion failures fail the test."""
    yield httpserver
    httpserver.check()
