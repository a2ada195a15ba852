"""One observation written to a local directory store by a process of its own, so
that it can run where the store's file system fails (a full or read-only tmpfs in a
private mount namespace, a low RLIMIT_FSIZE or RLIMIT_NOFILE):

    python -m tests.support.local_store_writer ROOT STATUS MINUTE [FSIZE_LIMIT]

Prints one JSON line: the write's outcome, or the error's class, errno name and
detail (exit 5), or a traceback (exit 1: a bug, never expected).
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from pathlib import Path

from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.errors import StoreError
from dlf_status.service import SnapshotWriter
from tests.concurrency.dying_writer import JOB, T0, observation


def main(root: str, status: str, minute: str, fsize_limit: str = "") -> int:
    if fsize_limit:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(fsize_limit), int(fsize_limit)))
    store = LocalDirectoryStore(Path(root))
    try:
        written = SnapshotWriter(store).write(JOB, observation(status, int(minute)), T0)
    except StoreError as error:
        failed = {
            "error": type(error).__name__,
            "errno_name": getattr(error, "errno_name", None),
            "detail": error.detail,
        }
        print(json.dumps(failed))
        return 5
    print(
        json.dumps(
            {
                "outcome": str(written.outcome),
                "transitions": written.transitions,
                "repaired": written.repaired,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
