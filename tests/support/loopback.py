"""The skeleton every raw loopback server of the suites shares: a listening socket on
127.0.0.1, an accept loop in a daemon thread, and a context manager that closes it.
Each server says only what it does with a connection (`_take`)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Self


class LoopbackListener:
    """Accepts connections on an ephemeral loopback port until closed; `connections`
    counts them. `_running` turns False on exit, for servers that loop inside a
    connection (a drip) and must stop with the server."""

    def __init__(self) -> None:
        self.connections = 0
        self._running = True
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._running = False
        self._listener.close()

    def _accept(self) -> None:
        while self._running:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # the listener was closed
                return
            self.connections += 1
            self._take(connection)

    def _take(self, connection: socket.socket) -> None:
        """Serve `connection` (or hand it to a thread); the accept loop waits for this."""
        raise NotImplementedError


def in_a_thread(serve: Callable[[socket.socket], None], connection: socket.socket) -> None:
    """Serve one connection in its own daemon thread, so the next can be accepted."""
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
