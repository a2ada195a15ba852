"""Rewrite contract_tests/golden/ from the current normaliser.

Run `make goldens`, then read the diff: a golden file is a reviewed expectation,
not a recording. The contract tests only compare; they never write.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contract_tests.support import GOLDEN, golden_document, golden_path, success_fixtures
from dlf_status.bootstrap import build_reference_validator
from dlf_status.domain.jsoncodec import pretty_bytes


def main() -> int:
    GOLDEN.mkdir(exist_ok=True)
    validator = build_reference_validator()
    for fixture in success_fixtures():
        golden_path(fixture).write_bytes(pretty_bytes(golden_document(fixture, validator)) + b"\n")
        print(f"wrote {golden_path(fixture).relative_to(GOLDEN.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
