"""Render openapi.yaml as the JSON the function ships (handler/dlf_status/spec/openapi.json).

Usage: python scripts/build_contract.py [--check]
With --check, exit 1 when the committed JSON differs from what openapi.yaml gives.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml
from generated import write_or_check  # scripts/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "openapi.yaml"
TARGET = ROOT / "handler" / "dlf_status" / "spec" / "openapi.json"


def render() -> str:
    spec = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))
    return json.dumps(spec, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    return write_or_check(TARGET, render(), argv, remedy="make contract")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
