"""Real network faults on loopback, for the fault matrix.

* `RawHttpServer`: answers every request with bytes of our choosing, then closes the
  connection politely (FIN) or abruptly (RST): truncated bodies, resets mid-body.
* `DrippingHttpServer`: writes the start of an answer, then one piece at a time, for
  as long as the client stays: a drip that only the client's deadline can end.
* `black_hole`: a listening socket whose accept queue is full: connections to it
  neither succeed nor fail, so the client's connect timeout is what ends them.
* `SilentServer`: accepts connections and never answers them.
* `S3Proxy`: forwards to SeaweedFS, answering `503 SlowDown` instead for the
  requests it is told to throttle, or dropping the connection after SeaweedFS
  applied the requests it is told to drop (the answer lost, the write done).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.loopback import LoopbackListener


class RawHttpServer(LoopbackListener):
    """Reads one request per connection, writes `payload`, then closes (or resets)."""

    def __init__(self, payload: bytes, *, reset: bool = False) -> None:
        super().__init__()
        self.payload = payload
        self.reset = reset

    def _take(self, connection: socket.socket) -> None:
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                request += chunk
            self._answer(connection)
            if self.reset:
                # SO_LINGER with a zero timeout: close() sends RST, not FIN.
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _answer(self, connection: socket.socket) -> None:
        connection.sendall(self.payload)


class DrippingHttpServer(RawHttpServer):
    """Writes `payload`, then `piece` every few milliseconds until the client leaves
    (or the server is closed): each piece within any read timeout, the whole never
    ending. Nothing but the client's own deadline can end the exchange."""

    def __init__(self, payload: bytes, piece: bytes) -> None:
        super().__init__(payload)
        self.piece = piece
        self.pieces_sent = 0

    def _answer(self, connection: socket.socket) -> None:
        try:
            connection.sendall(self.payload)
            while self._running:
                connection.sendall(self.piece)
                self.pieces_sent += 1
                time.sleep(0.005)
        except OSError:  # the client closed: what the drip was waiting for
            return


class SilentServer(LoopbackListener):
    """Accepts every connection and never answers: a store that hangs once connected
    (the connect succeeds, so only the client's read timeout ends a call). Each
    connection is held open until the server closes; `connections` counts them, one
    per attempt of a client that gives up on a connection that timed out."""

    def __init__(self) -> None:
        super().__init__()
        self._held: list[socket.socket] = []

    def __exit__(self, *_: object) -> None:
        super().__exit__()
        for connection in self._held:
            connection.close()

    def _take(self, connection: socket.socket) -> None:
        self._held.append(connection)


@contextmanager
def black_hole() -> Iterator[str]:
    """A URL whose connections hang: the listener's backlog is full and never served."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(3):  # fill the accept queue (backlog 0 still admits one or two)
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(listener.getsockname())
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
INTERNAL_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>"
)
# What AWS answers to a PUT with If-Match on a key that does not exist.
NO_SUCH_KEY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    b"<Message>The specified key does not exist.</Message></Error>"
)


class S3Proxy:
    """A transparent proxy to an S3 endpoint that throttles chosen requests (or
    answers them with another error: `status` and `error`). Ambiguous writes too:
    `drop` forwards a request and drops the store's 200 (the client never hears it),
    `fail_after` forwards it and answers `status` and `error` in place of the store's
    200 (S3 documents that a 500 InternalError may come for a write it applied)."""

    def __init__(
        self,
        target: str,
        throttle: Callable[[str, str], bool],
        *,
        status: int = 503,
        error: bytes = SLOW_DOWN,
        drop: Callable[[str, str], bool] = lambda method, path: False,
        fail_after: Callable[[str, str], bool] = lambda method, path: False,
        keep_metadata: bool = True,
    ) -> None:
        self.target = target.removeprefix("http://")
        # False: the answers lose every x-amz-meta-* header, as from a store that keeps
        # no user metadata.
        self.keep_metadata = keep_metadata
        self.throttle = throttle
        self.drop = drop
        self.fail_after = fail_after
        self.dropped = 0
        self.failed_after = 0
        self.throttled = 0
        self.forwarded = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    # The client went first (a reader out of time closes its
                    # connection): nothing is left to answer, and nothing is wrong.
                    self.close_connection = True

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy.throttle(self.command, self.path):
                    proxy.throttled += 1
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                proxy.forwarded += 1
                with contextlib.closing(
                    http.client.HTTPConnection(proxy.target, timeout=10)
                ) as upstream:
                    self._forward(upstream, body)

            def _forward(self, upstream: http.client.HTTPConnection, body: bytes) -> None:
                # The Host header stays the client's: it is part of the SigV4 signature.
                upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
                answer = upstream.getresponse()
                data = answer.read()
                if answer.status == 200 and proxy.drop(self.command, self.path):
                    proxy.dropped += 1  # applied by the store; the client never hears it
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if answer.status == 200 and proxy.fail_after(self.command, self.path):
                    proxy.failed_after += 1  # applied by the store; the client hears an error
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() in ("content-length", "transfer-encoding", "connection"):
                        continue
                    if not proxy.keep_metadata and name.lower().startswith("x-amz-meta-"):
                        continue
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _relay  # noqa: N815 - http.server hooks

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> S3Proxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
