"""What pyproject.toml claims about where the package runs, read from pyproject.toml
itself: the Pythons (the version classifiers, which requires-python must admit and no
more) and each runtime dependency's lower bound. tests/package installs the wheel on
every claimed Python with every direct dependency at its lower bound, as a resolver
that picks the oldest allowed version does (`uv pip install --resolution
lowest-direct`, pip with a constraints file of the lower bounds).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYTHON_CLASSIFIER = re.compile(r"Programming Language :: Python :: 3\.(\d+)")
# Every CPython 3 minor a requires-python could name today or in the next decades.
PYTHON_MINORS_SEEN = range(0, 40)


class Variant(NamedTuple):
    """A way to install the wheel: an interpreter and the dependency versions."""

    python_minor: int  # 3.<python_minor>
    dependencies: str  # "lowest": the declared lower bounds; "pinned": constraints.txt

    @property
    def name(self) -> str:
        return f"py3.{self.python_minor}-{self.dependencies}"


def project_table(root: Path = ROOT) -> dict[str, Any]:
    with (root / "pyproject.toml").open("rb") as file:
        table: dict[str, Any] = tomllib.load(file)["project"]
    return table


def claimed_python_minors(project: dict[str, Any]) -> list[int]:
    """The 3.x the classifiers name, ascending."""
    found = (PYTHON_CLASSIFIER.fullmatch(item) for item in project["classifiers"])
    return sorted(int(match.group(1)) for match in found if match)


def admitted_python_minors(project: dict[str, Any]) -> list[int]:
    """The 3.x whose releases requires-python admits (each minor's first release)."""
    allowed = SpecifierSet(project["requires-python"])
    return [minor for minor in PYTHON_MINORS_SEEN if Version(f"3.{minor}.0") in allowed]


def lower_bound(requirement: Requirement) -> Version | None:
    """The version a `>=` specifier names (None without one)."""
    bounds = [Version(item.version) for item in requirement.specifier if item.operator == ">="]
    return max(bounds) if bounds else None


def lowest_direct_pins(project: dict[str, Any]) -> list[str]:
    """`name==lower bound` for every runtime dependency: the constraints a platform
    team's oldest-allowed resolution amounts to. A dependency with no lower bound is
    refused: "any version" is not a claim a test can prove."""
    pins = []
    for text in project["dependencies"]:
        requirement = Requirement(text)
        bound = lower_bound(requirement)
        if bound is None:
            raise ValueError(f"runtime dependency {text!r} declares no lower bound (>=)")
        pins.append(f"{requirement.name}=={bound}")
    return pins


def _pyenv_root() -> Path | None:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        result = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            return Path(result.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def _release(path: Path) -> tuple[int, ...]:
    """A pyenv version directory's number (3.12.1 -> (3, 12, 1)); pre-releases last."""
    parts = path.parents[1].name.split(".")
    return tuple(int(part) if part.isdigit() else -1 for part in parts)


def find_python(minor: int) -> Path | None:
    """A CPython 3.<minor>: the newest pyenv holds (pyenv root), else one on PATH."""
    executable = f"python3.{minor}"
    root = _pyenv_root()
    if root is not None:
        found = sorted(root.glob(f"versions/3.{minor}.*/bin/{executable}"), key=_release)
        if found:
            return found[-1]
    on_path = shutil.which(executable)
    return Path(on_path) if on_path else None
