"""What the build scripts share: write a generated file, or check it is current."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_or_check(target: Path, expected: str, argv: list[str], *, remedy: str) -> int:
    """Write `expected` to `target`; with --check, exit 1 when they differ instead."""
    if "--check" not in argv:
        target.write_text(expected, encoding="utf-8")
        return 0
    current = target.read_text(encoding="utf-8") if target.exists() else ""
    if current != expected:
        print(f"{target.relative_to(ROOT)} is out of date: run `{remedy}`", file=sys.stderr)
        return 1
    return 0
