"""A minimal AWS Lambda Runtime API on loopback, for the real runtime interface
client (awslambdaric) to run the built function against.

The Runtime Interface Emulator is not available here; these four endpoints are
what the client uses: next invocation, response, invocation error, init error.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    request_id: str
    event: Any
    done: threading.Event = field(default_factory=threading.Event)
    response: Any = None
    error: Any = None


class RuntimeApi:
    def __init__(self, deadline_seconds: float = 60) -> None:
        """`deadline_seconds`: the time each invocation is given (a function's Timeout)."""
        self.deadline_seconds = deadline_seconds
        self._pending: queue.Queue[Invocation | None] = queue.Queue()
        self.invocations: dict[str, Invocation] = {}
        self.init_error: Any = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> RuntimeApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._pending.put(None)
        self._server.shutdown()
        self._server.server_close()

    def invoke(
        self, event: Any, timeout: float = 60, *, running: Callable[[], bool] | None = None
    ) -> Invocation:
        """Posts `event` and waits for its answer; `running` says whether the function's
        process is still there (one the kernel killed never answers)."""
        invocation = Invocation(uuid.uuid4().hex, event)
        self.invocations[invocation.request_id] = invocation
        self._pending.put(invocation)
        deadline = time.monotonic() + timeout
        while not invocation.done.wait(0.1):
            if self.init_error is not None:
                raise RuntimeError(f"the function failed to start: {self.init_error}")
            if running is not None and not running():
                raise RuntimeError("the function's process ended before it answered")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer from the function within {timeout} s")
        return invocation

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._send(404, b"{}")
                    return
                invocation = api._pending.get()
                if invocation is None:  # shutting down: never answer
                    return
                body = json.dumps(invocation.event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
                self.send_header(
                    "Lambda-Runtime-Deadline-Ms",
                    str(int((time.time() + api.deadline_seconds) * 1000)),
                )
                self.send_header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:dlf-status",
                )
                self.send_header(
                    "Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"
                )
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                parsed = json.loads(payload) if payload else None
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_error = parsed
                elif len(parts) == 3 and parts[0] == "invocation" and parts[1] in api.invocations:
                    invocation = api.invocations[parts[1]]
                    if parts[2] == "response":
                        invocation.response = parsed
                    else:
                        invocation.error = parsed
                    invocation.done.set()
                self._send(202, b"{}")

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler
