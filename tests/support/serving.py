"""`dlf-status serve` in the test's own process: its server and handler, on a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.entrypoints.local_server import make_server


@contextmanager
def serving(api: StatusApi, **options: Any) -> Iterator[str]:
    """Serve `api` on a free loopback port; yields its base URL, stops on exit.
    `options` go to make_server (timeout, max_connections)."""
    server = make_server(api, "127.0.0.1", 0, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
