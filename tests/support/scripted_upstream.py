"""A raw HTTP upstream on loopback that answers with exactly the bytes it is given.

pytest-httpserver goes through werkzeug, which normalises what it sends (one
Content-Length, header names and values it accepts); a hostile upstream does not.
This server writes the status line, the headers and the body verbatim, so a test
can send `Retry-After: ²`, a 60 KB `X-Request-Id`, duplicate headers or a body
that lies about its length; `WireBytes` sends any bytes at all (a 103 before the
answer, a status line that is not HTTP). One server serves many answers: the test swaps the
answer between calls (hypothesis examples share it), and every request received
is recorded with its raw headers (to check, for one, that no cookie is replayed).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from tests.support.loopback import LoopbackListener, in_a_thread


class Answer(Protocol):
    def to_bytes(self) -> bytes: ...


class RawAnswer(NamedTuple):
    status: int
    headers: Sequence[tuple[str, str]]  # sent in order, duplicates allowed
    body: bytes
    reason: str = "Whatever"

    def to_bytes(self) -> bytes:
        head = [f"HTTP/1.1 {self.status} {self.reason}"]
        names = {name.lower() for name, _ in self.headers}
        head += [f"{name}: {value}" for name, value in self.headers]
        if "content-length" not in names and "transfer-encoding" not in names:
            head.append(f"Content-Length: {len(self.body)}")
        head.append("Connection: close")
        # Latin-1 on the wire, as http.client reads it back; anything else as UTF-8
        # bytes (which the client then reads as Latin-1, like any odd server's).
        lines = [_wire(line) for line in head]
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


class WireBytes(NamedTuple):
    """An answer sent exactly as given, status line included (or not): for what is
    not one well-formed HTTP/1.1 answer (interim 1xx answers before the real one, a
    status line that is not HTTP, a body no length frames)."""

    payload: bytes

    def to_bytes(self) -> bytes:
        return self.payload


def _wire(line: str) -> bytes:
    try:
        return line.encode("latin-1")
    except UnicodeEncodeError:
        return line.encode("utf-8")


class ScriptedUpstream(LoopbackListener):
    """Answers every request with the current `answer`; one thread per connection."""

    def __init__(self) -> None:
        super().__init__()
        self.answer: Answer = RawAnswer(200, [("Content-Type", "application/json")], b"{}")
        self.requests: list[bytes] = []  # the raw request heads, in arrival order
        self._lock = threading.Lock()

    def serve(self, answer: Answer) -> None:
        with self._lock:
            self.answer = answer

    def _take(self, connection: socket.socket) -> None:
        in_a_thread(self._answer, connection)

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(10)
            request = b""
            try:
                while b"\r\n\r\n" not in request:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                with self._lock:
                    self.requests.append(request.split(b"\r\n\r\n", 1)[0])
                    payload = self.answer.to_bytes()
                connection.sendall(payload)
                connection.shutdown(socket.SHUT_WR)
                # Let the client read everything before the socket closes.
                while connection.recv(65536):
                    pass
            except OSError:
                return


class KeepAliveUpstream(LoopbackListener):
    """Keeps each connection open and answers its n-th request with
    `script[n](job_name)` (the job of the request's status path), so a test can leave
    bytes behind one answer and see what the next request on the connection reads."""

    def __init__(self, script: Sequence[Callable[[str], bytes]]) -> None:
        super().__init__()
        self.script = script

    def _take(self, connection: socket.socket) -> None:
        in_a_thread(self._answer, connection)

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(10)
            pending = b""
            try:
                for answer in self.script:
                    while b"\r\n\r\n" not in pending:
                        chunk = connection.recv(65536)
                        if not chunk:
                            return
                        pending += chunk
                    request, pending = pending.split(b"\r\n\r\n", 1)
                    path = request.split(b" ", 2)[1].decode("ascii")
                    connection.sendall(answer(path.split("/jobs/", 1)[1].split("/", 1)[0]))
                while connection.recv(65536):  # until the client closes
                    pass
            except OSError:
                return
