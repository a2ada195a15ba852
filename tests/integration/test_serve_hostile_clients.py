"""`dlf-status serve` against clients that misbehave on the socket: half-open and
dripping connections, too many connections, requests it cannot frame.

The server is the real console script in its own process: with a one-second
`--timeout` for the tests of what the timeout ends, with the default for the rest.
The assertions wait generously for what must happen (a closed connection, an
answer) and never on how fast it happens.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dlf_status.entrypoints.http_api import StatusApi
from tests.support.root import fake_service
from tests.support.seaweed import free_ports
from tests.support.serving import serving

pytestmark = pytest.mark.integration

PATIENCE = 60.0  # seconds a test waits for what must happen; never a measured margin
STATUS_PATH = b"/v1/b384b9e9ab9b4ee8994c8633aabc9505/jobs/job_sms/status"


class Served:
    def __init__(self, port: int, stderr: Path) -> None:
        self.port = port
        self.stderr = stderr

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=PATIENCE)


@contextmanager
def serve_process(directory: Path, timeout: str) -> Iterator[Served]:
    """`dlf-status serve --timeout TIMEOUT` with an upstream that refuses connections."""
    stderr = directory / f"stderr-{timeout}.txt"
    [closed_port] = free_ports(1)
    environment = {
        **os.environ,
        "DLF_ENDPOINT": f"http://127.0.0.1:{closed_port}",
        "DLF_AUTH_TOKEN": "serve-token-not-a-secret",
        "DLF_MAX_ATTEMPTS": "1",
        "SNAPSHOT_URI": str(directory / "snapshots"),
    }
    script = Path(sys.executable).parent / "dlf-status"
    arguments = ["serve", "--port", "0", "--timeout", timeout, "--max-connections", "16"]
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [str(script), *arguments], env=environment, stdout=subprocess.DEVNULL, stderr=sink
        )
    try:
        started = time.monotonic()
        while "serving GET http://" not in stderr.read_text():
            assert process.poll() is None, stderr.read_text()
            assert time.monotonic() - started < PATIENCE, "serve did not start"
            time.sleep(0.05)
        port = int(stderr.read_text().split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
        yield Served(port, stderr)
    finally:
        process.terminate()
        process.wait(timeout=PATIENCE)
    assert "Traceback" not in stderr.read_text()


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A one-second budget per request: for the tests of what that budget ends."""
    with serve_process(tmp_path_factory.mktemp("serve"), "1") as served:
        yield served


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The default budget: a busy machine never runs out of it mid-test."""
    with serve_process(tmp_path_factory.mktemp("serve"), "30") as served:
        yield served


def closed_by_peer(connection: socket.socket) -> bool:
    """Wait (up to PATIENCE) until the server closes; True when it did."""
    connection.settimeout(PATIENCE)
    try:
        while True:
            data = connection.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def exchange(served: Served, raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Send raw bytes, read the one answer until the server closes the connection."""
    with served.connect() as connection:
        connection.sendall(raw)
        data = b""
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    return int(status_line.split()[1]), headers, json.loads(body)


def assert_still_serving(served: Served) -> None:
    status, _, problem = exchange(
        served, b"GET /nothing/here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert (status, problem["type"]) == (404, "urn:dlf-status:problem:route-not-found")


def test_a_connection_that_sends_nothing_is_closed(impatient: Served) -> None:
    with impatient.connect() as connection:
        assert closed_by_peer(connection)
    assert_still_serving(impatient)


def test_a_half_sent_request_is_closed(impatient: Served) -> None:
    with impatient.connect() as connection:
        connection.sendall(b"GET " + STATUS_PATH + b" HTTP/1.1\r\nHost: x\r\n")
        assert closed_by_peer(connection)
    assert_still_serving(impatient)


def test_a_body_that_never_comes_is_closed(impatient: Served) -> None:
    with impatient.connect() as connection:
        connection.sendall(b"GET " + STATUS_PATH + b" HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        assert closed_by_peer(connection)
    assert_still_serving(impatient)


def test_a_client_that_drips_its_headers_is_closed(impatient: Served) -> None:
    """One byte every 0.1 s never lets a read wait a whole second: only the request's
    overall time budget can end it."""
    with impatient.connect() as connection:
        connection.sendall(b"GET " + STATUS_PATH + b" HTTP/1.1\r\nX-Drip: ")
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < PATIENCE:
            try:
                connection.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            readable, _, _ = select.select([connection], [], [], 0.1)
            if readable:
                try:
                    closed = connection.recv(65536) == b""
                except ConnectionResetError:
                    closed = True
        assert closed
    assert_still_serving(impatient)


# Each refusal's own problem type: a status and a type always mean the same thing.
PROBLEM_TYPES = {
    400: "urn:dlf-status:problem:invalid-input",
    414: "urn:dlf-status:problem:request-target-too-long",
    431: "urn:dlf-status:problem:request-headers-too-large",
    505: "urn:dlf-status:problem:http-version-not-supported",
}
BAD_FRAMING = [
    (b"Content-Length: \xc2\xb2\r\n", 400, "Content-Length must be ASCII digits"),
    (b"Content-Length: -1\r\n", 400, "Content-Length must be ASCII digits"),
    (b"Content-Length: 1e3\r\n", 400, "Content-Length must be ASCII digits"),
    (b"Content-Length: 99999999999999999999999\r\n", 400, "Content-Length must be ASCII"),
    (b"Content-Length: 9999999999\r\n", 400, "larger than 1,048,576"),
    (b"Content-Length: 5\r\nContent-Length: 6\r\n", 400, "conflicting Content-Length"),
    (b"Transfer-Encoding: chunked\r\n", 400, "Transfer-Encoding is not supported"),
    (b"Bad Header\r\n", 400, "not a 'name: value' field"),
    (b"X-Folded: a\r\n b\r\n", 400, "folded line"),
    (b"X-Nul: a\x00b\r\n", 400, "control character"),
    (b"X A: 1\r\n", 400, "not a 'name: value' field"),
    (b"X-Many: 1\r\n" * 120, 431, "Too many headers"),
    (b"X-Long: " + b"a" * 70000 + b"\r\n", 431, "Line too long"),
]


@pytest.mark.parametrize(("headers", "status", "detail"), BAD_FRAMING)
def test_a_request_that_cannot_be_framed_is_a_problem(
    served: Served, headers: bytes, status: int, detail: str
) -> None:
    raw = b"GET " + STATUS_PATH + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"

    answered, answer_headers, problem = exchange(served, raw)

    assert answered == status
    assert answer_headers["content-type"] == "application/problem+json"
    assert (problem["type"], problem["status"]) == (PROBLEM_TYPES[status], status)
    assert detail in problem["detail"]


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"\x00\x01garbage", 400),
        (b"GET", 400),
        (b"GET / HTTP/9.9", 505),
        (b"GET / HTTP/1.1 extra", 400),
        (b"GET http://[::1/x HTTP/1.1", 400),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1", 414),
    ],
)
def test_a_malformed_request_line_is_a_problem(
    served: Served, request_line: bytes, status: int
) -> None:
    answered, answer_headers, problem = exchange(served, request_line + b"\r\nHost: x\r\n\r\n")

    assert answered == status
    assert answer_headers["content-type"] == "application/problem+json"
    assert (problem["type"], problem["status"]) == (PROBLEM_TYPES[status], status)


def test_a_body_on_a_get_is_read_and_the_connection_kept(served: Served) -> None:
    with served.connect() as connection:
        connection.sendall(
            b"GET /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 404 ") == 2


def test_a_connection_beyond_the_bound_is_the_server_busy_problem() -> None:
    """One slot, held by an idle client: the next connection, which sends nothing (so
    that closing it resets nothing), reads the 503 and then the server's close."""
    with serving(StatusApi(fake_service().observe), timeout=PATIENCE, max_connections=1) as url:
        port = int(url.rsplit(":", 1)[1])
        with (
            socket.create_connection(("127.0.0.1", port)),
            socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as extra,
        ):
            data = b""
            while chunk := extra.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    problem = json.loads(body)

    assert head.startswith(b"HTTP/1.1 503 ")
    assert b"\r\nRetry-After: 1" in head
    assert (problem["type"], problem["status"]) == ("urn:dlf-status:problem:server-busy", 503)


def test_connections_beyond_the_bound_are_refused_without_a_thread() -> None:
    """Two slots, a long timeout: two idle clients hold both, the third is answered 503
    (or reset) at once; when one leaves, requests are served again."""
    with serving(StatusApi(fake_service().observe), timeout=PATIENCE, max_connections=2) as url:
        port = int(url.rsplit(":", 1)[1])
        holders = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        try:
            extra = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
            extra.sendall(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answer = extra.recv(65536)
            except ConnectionResetError:
                answer = b""
            extra.close()
            assert answer == b"" or answer.startswith(b"HTTP/1.1 503 ")
        finally:
            holders[0].close()
        started = time.monotonic()
        served_again = False
        while not served_again and time.monotonic() - started < PATIENCE:
            with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as probe:
                probe.sendall(b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                try:
                    served_again = probe.recv(65536).startswith(b"HTTP/1.1 404 ")
                except ConnectionResetError:
                    served_again = False
            time.sleep(0.05)
        holders[1].close()
        assert served_again
