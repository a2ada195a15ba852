"""A replay upstream for demos: recorded exchanges served per job on loopback.

It answers `GET /v1/{project_id}/jobs/{job_name}/status` with the recorded
exchange assigned to that job (the body's `name` set to the job asked for), and
checks the AK/SK signature the way the gateway does, answering the recorded
gateway 401 when it does not match. Unknown jobs get DLF.0100. Not for tests:
tests use pytest-httpserver.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from dlf_status.adapters.signing import sign
from dlf_status.recorded import RecordedExchange, exchange_from_json


@dataclass(frozen=True)
class ReplayJob:
    job_name: str
    fixture: str  # a file name in the fixtures directory, without .json
    description: str


def _bind(host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def load_exchange(directory: Path, name: str) -> RecordedExchange:
    return exchange_from_json(json.loads((directory / f"{name}.json").read_text(encoding="utf-8")))


def _renamed(exchange: RecordedExchange, job_name: str) -> bytes:
    """The recorded body with its job name replaced by the one asked for."""
    try:
        body = json.loads(exchange.body)
    except ValueError:
        return exchange.body
    if isinstance(body, dict) and isinstance(body.get("name"), str):
        body["name"] = job_name
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class ReplayUpstream:
    def __init__(
        self,
        directory: Path,
        jobs: Mapping[str, str],
        *,
        ak: str,
        sk: str,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._exchanges = {job: load_exchange(directory, fixture) for job, fixture in jobs.items()}
        self._not_found = load_exchange(directory, "doc-2024-failure-dlf0100")
        self._bad_signature = load_exchange(directory, "gateway-401-signature")
        self._ak, self._sk = ak, sk
        self._server = _bind(host, port, self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ReplayUpstream:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        if not self._signature_ok(path, headers):
            exchange = self._bad_signature
            return exchange.status, dict(exchange.headers), exchange.body
        segments = path.split("/")
        job_name = unquote(segments[4]) if len(segments) == 6 else ""
        exchange = self._exchanges.get(job_name, self._not_found)
        return exchange.status, dict(exchange.headers), _renamed(exchange, job_name)

    def _signature_ok(self, path: str, headers: Mapping[str, str]) -> bool:
        authorization = headers.get("Authorization", "")
        if not authorization.startswith(f"SDK-HMAC-SHA256 Access={self._ak}, SignedHeaders="):
            return False
        names = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
        lowered = {name.lower(): value for name, value in headers.items()}
        if any(name not in lowered for name in names):
            return False
        signed = {name: lowered[name] for name in names}
        expected = sign(ak=self._ak, sk=self._sk, method="GET", path=path, headers=signed)
        return expected == authorization

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                status, headers, body = replay.answer(path, dict(self.headers))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler
