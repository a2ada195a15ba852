"""A replay upstream for demos: recorded exchanges served per job on loopback.

It answers `GET /v1/{project_id}/jobs/{job_name}/status` with the recorded
exchange assigned to that job (the body's `name` set to the job asked for), and
`GET /v1/{project_id}/jobs` (the job list) with its catalogue of jobs, filtered by
`jobType` and paged as the Terraform provider pages it (`offset` counts records)
with at most `page_limit` jobs a page, whatever `limit` asks: discovery has to
find that out. It checks the AK/SK signature (query string included) the way the
gateway does, answering the recorded gateway 401 when it does not match. Unknown
jobs get DLF.0100. Not for tests: tests use pytest-httpserver.

The recorded exchanges it serves by default ship in the package (`recorded/`, copies
of contract_tests/fixtures/valid that a unit test keeps equal): the demo must run
wherever `dlf-status` is installed, not only in a checkout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from dlf_status.adapters.local_files import read_at_most
from dlf_status.adapters.signing import sign
from dlf_status.domain import jsoncodec
from dlf_status.errors import InvalidInput, one_line
from dlf_status.recorded import RecordedExchange, exchange_from_json

# The recorded exchanges that ship with the package, and the two every replay serves.
RECORDED: Final[Traversable] = files(__package__).joinpath("recorded")
NOT_FOUND_FIXTURE: Final = "doc-2024-failure-dlf0100"
BAD_SIGNATURE_FIXTURE: Final = "gateway-401-signature"
# A fixture holds one upstream body escaped as JSON, as `validate` reads (its bound).
MAX_FIXTURE_BYTES: Final = 64 << 20


@dataclass(frozen=True)
class ReplayJob:
    job_name: str
    fixture: str  # a file name in the fixtures directory, without .json
    description: str


@dataclass(frozen=True)
class ListedReplayJob:
    """A job of the replay's job list, in the list's own words."""

    name: str
    job_type: str  # REAL_TIME or BATCH
    status: str
    create_time: int  # epoch milliseconds

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "jobType": self.job_type,
            "status": self.status,
            "createUser": "demo",
            "createTime": self.create_time,
        }


def _bind(host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def _whole(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() and value.isascii() else default


def load_exchange(directory: Traversable, name: str) -> RecordedExchange:
    """`name`.json in `directory`: a checkout's fixtures, or the package's own.
    InvalidInput naming the file when it cannot be one (`demo --fixtures DIR` reads
    what a user hands over: missing, a FIFO, /dev/zero, not UTF-8, not an exchange)."""
    fixture = directory.joinpath(f"{name}.json")
    shown = one_line(str(fixture), 200)
    if isinstance(fixture, Path):  # a directory given: bounded, regular files only
        data = read_at_most(fixture, MAX_FIXTURE_BYTES, what="the fixture", regular_only=True)
    else:  # the package's own
        data = fixture.read_bytes()
    try:
        return exchange_from_json(jsoncodec.loads(data))
    except jsoncodec.JsonDecodeError as exc:
        raise InvalidInput(f"the fixture {shown} is not JSON: {exc}") from None
    except InvalidInput as exc:
        raise InvalidInput(f"the fixture {shown}: {exc.detail}") from None


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
        directory: Traversable,
        jobs: Mapping[str, str],
        *,
        ak: str,
        sk: str,
        listed: Sequence[ListedReplayJob] = (),
        page_limit: int = 100,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._exchanges = {job: load_exchange(directory, fixture) for job, fixture in jobs.items()}
        self._listed = tuple(listed)
        self._page_limit = page_limit
        self.list_requests = 0
        self._not_found = load_exchange(directory, NOT_FOUND_FIXTURE)
        self._bad_signature = load_exchange(directory, BAD_SIGNATURE_FIXTURE)
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

    def answer(
        self, path: str, headers: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        if not self._signature_ok(path, headers, query or {}):
            exchange = self._bad_signature
            return exchange.status, dict(exchange.headers), exchange.body
        segments = path.split("/")
        if len(segments) == 4 and segments[3] == "jobs":
            return self._job_page(query or {})
        job_name = unquote(segments[4]) if len(segments) == 6 else ""
        exchange = self._exchanges.get(job_name, self._not_found)
        return exchange.status, dict(exchange.headers), _renamed(exchange, job_name)

    def _job_page(self, query: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.list_requests += 1
        job_type = query.get("jobType", "BATCH")
        jobs = [job for job in self._listed if job.job_type == job_type]
        offset, limit = _whole(query.get("offset"), 0), _whole(query.get("limit"), 10)
        page = jobs[offset : offset + min(limit, self._page_limit)]
        body = {"total": len(jobs), "jobs": [job.as_json() for job in page]}
        headers = {"Content-Type": "application/json;charset=UTF-8"}
        return 200, headers, json.dumps(body).encode("utf-8")

    def _signature_ok(
        self, path: str, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> bool:
        authorization = headers.get("Authorization", "")
        if not authorization.startswith(f"SDK-HMAC-SHA256 Access={self._ak}, SignedHeaders="):
            return False
        names = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
        lowered = {name.lower(): value for name, value in headers.items()}
        if any(name not in lowered for name in names):
            return False
        signed = {name: lowered[name] for name in names}
        expected = sign(
            ak=self._ak, sk=self._sk, method="GET", path=path, headers=signed, query=query
        )
        return expected == authorization

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                status, headers, body = replay.answer(parts.path, dict(self.headers), query)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler
