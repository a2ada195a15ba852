"""A local-store writer that stops just before linking its staged file into place.

    python -m tests.support.paused_writer ROOT KEY

It runs the store's real `create`; its `os.link` first prints `staged <path>` and
waits for a line on stdin. The parent then kills it (a writer that dies mid-write)
or lets it go on (a live writer that was slow), and reads `created True`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dlf_status.adapters.store_local import LocalDirectoryStore

BODY = b'{"written": "by the paused writer"}'


def main() -> None:
    root, key = sys.argv[1], sys.argv[2]
    real_link = os.link

    def paused_link(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        print(f"staged {source}", flush=True)
        sys.stdin.readline()
        real_link(source, target)

    os.link = paused_link  # type: ignore[assignment]
    created = LocalDirectoryStore(Path(root)).create(key, BODY, {})
    print(f"created {created}", flush=True)


if __name__ == "__main__":
    main()
