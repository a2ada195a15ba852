"""A function process gives large freed blocks back to the system (adapters/allocator.py).

Each case runs in a fresh interpreter: one 16 MB block freed (which, by default, moves
glibc's mmap threshold up), then 64 blocks of 1 MB, each beside a small block that
stays, then the large ones freed. What the process still holds of them is measured.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dlf_status.adapters.allocator import THRESHOLD_BYTES, THRESHOLD_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from pathlib import Path

from dlf_status.adapters.allocator import THRESHOLD_BYTES, THRESHOLD_VARIABLE

def resident_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

SETUP
big = bytearray(16 << 20)
del big
before = resident_mib()
kept, blocks = [], []
for _ in range(64):
    blocks.append(bytearray(1 << 20))
    kept.append(bytearray(4000))
del blocks
print(resident_mib() - before)
"""


def _kept_mib(setup: str, **environment: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.replace("SETUP", setup)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, **environment},
    )
    return int(result.stdout.split()[-1])


def test_by_default_freed_blocks_stay_in_the_process() -> None:
    """The behaviour the adapter exists for: without it, most of the 64 MB stays."""
    assert _kept_mib("") >= 32


def test_with_the_threshold_fixed_freed_blocks_are_given_back() -> None:
    setup = (
        "from dlf_status.adapters.allocator import give_large_blocks_back\n"
        "assert give_large_blocks_back()"
    )

    assert _kept_mib(setup) < 8


def test_a_lambda_function_fixes_it_at_init() -> None:
    # Whatever the configuration, the init runs startup.start first.
    setup = "import dlf_status.entrypoints.lambda_http"

    assert _kept_mib(setup, DLF_ENDPOINT="http://127.0.0.1:9", DLF_AUTH_TOKEN="fake-token-0") < 8


def test_the_deployed_functions_leave_it_to_glibc_and_skip_ctypes() -> None:
    """template.yaml sets the variable glibc reads at start: freed blocks still go back,
    and the init no longer loads ctypes to call mallopt itself."""
    setup = "import dlf_status.entrypoints.lambda_http\nassert 'ctypes' not in sys.modules"
    deployed = {THRESHOLD_VARIABLE: str(THRESHOLD_BYTES)}

    assert (
        _kept_mib(
            setup, DLF_ENDPOINT="http://127.0.0.1:9", DLF_AUTH_TOKEN="fake-token-0", **deployed
        )
        < 8
    )


def test_another_threshold_in_the_variable_is_not_taken_for_ours() -> None:
    setup = (
        "from dlf_status.adapters.allocator import give_large_blocks_back\n"
        "assert give_large_blocks_back()\n"
        "assert 'ctypes' in sys.modules"
    )

    assert _kept_mib(setup, **{THRESHOLD_VARIABLE: str(64 << 20)}) < 8
