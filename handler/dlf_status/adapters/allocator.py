"""The C allocator of a long-lived function process, told to give large blocks back.

glibc's malloc raises its mmap threshold each time a large block is freed (up to
32 MB), so that later large blocks come from the heap instead, where, once freed,
they stay in the process. One large answer then leaves tens of megabytes behind,
and the next large answer starts from there: serving the worst answers known under
the size cap one after another peaked 60 MB above the worst of them alone, well
past what the function's 256 MB can afford. A fixed threshold (glibc's own default,
128 KiB, which fixing it also stops from moving) keeps every large buffer in a
mapping of its own, returned to the system when it is freed. Measured by `make
bench`'s worst-case memory row: 175 MiB with it, 196-199 MiB without (2026-11-25).

Elsewhere (musl's mallopt does nothing and says so; macOS and Windows have none)
nothing changes: those allocators decide for themselves.

The deployed functions set `MALLOC_MMAP_THRESHOLD_` (template.yaml), which glibc reads
at process start to the same effect: there the call is skipped, and with it ctypes,
about a millisecond and a half of every cold start.
"""

from __future__ import annotations

import os
from typing import Final

# mallopt's parameter number for the mmap threshold (malloc.h), and glibc's default.
_M_MMAP_THRESHOLD: Final = -3
THRESHOLD_BYTES: Final = 128 * 1024
# glibc's tunable of the same threshold, read once when the process starts.
THRESHOLD_VARIABLE: Final = "MALLOC_MMAP_THRESHOLD_"


def give_large_blocks_back() -> bool:
    """Fix glibc's mmap threshold; False where the C library has no mallopt (not
    glibc: there is nothing to fix the same way). Never raises."""
    if os.environ.get(THRESHOLD_VARIABLE) == str(THRESHOLD_BYTES):
        return True  # glibc fixed it at start-up, before any of our code ran
    try:
        import ctypes  # only here: about a millisecond and a half of cold start

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # TypeError: Windows has no CDLL(None)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, THRESHOLD_BYTES))
