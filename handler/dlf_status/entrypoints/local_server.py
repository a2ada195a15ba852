"""`dlf-status serve`: a local HTTP endpoint in front of the same FunctionApp.

Each request becomes an API Gateway HTTP API (payload 2.0) event, decoded the way
API Gateway decodes it, so development and tests exercise the deployed path.
For development and tests only: no TLS, no authorisation.
"""

from __future__ import annotations

import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from dlf_status.entrypoints.app import FunctionApp
from dlf_status.observability import logger

_ROUTE_SEGMENTS = ("v1", None, "jobs", None, "status")


def _decode(segment: str) -> str:
    # Bytes that are not UTF-8 survive as lone surrogates, which JobRef refuses.
    return unquote(segment, errors="surrogateescape")


def gateway_event(
    method: str, target: str, headers: dict[str, str], client_ip: str
) -> dict[str, Any]:
    """What API Gateway (HTTP API, payload 2.0) would send for this request."""
    parts = urlsplit(target)
    segments = parts.path.strip("/").split("/")
    path_parameters = None
    if len(segments) == len(_ROUTE_SEGMENTS) and all(
        expected is None or segment == expected
        for segment, expected in zip(segments, _ROUTE_SEGMENTS, strict=True)
    ):
        path_parameters = {"project_id": _decode(segments[1]), "job_name": _decode(segments[3])}
    decoded_path = _decode(parts.path)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": decoded_path,
        "rawQueryString": parts.query,
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {
            "http": {
                "method": method,
                "path": decoded_path,
                "protocol": "HTTP/1.1",
                "sourceIp": client_ip,
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
    return event


def make_server(app: FunctionApp, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "dlf-status-serve"

        def _dispatch(self) -> None:
            length = self.headers.get("Content-Length", "0")
            if length.isdigit() and int(length) > 0:
                self.rfile.read(min(int(length), 1 << 20))
            event = gateway_event(
                self.command, self.path, dict(self.headers), self.client_address[0]
            )
            answer = app.handle(event)
            body = answer["body"].encode("utf-8")
            self.send_response(answer["statusCode"])
            for name, value in answer["headers"].items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def __getattr__(self, name: str) -> Any:
            # http.server looks up do_<METHOD>: every method goes to the handler, which
            # answers 405 with Allow: GET, as API Gateway's route does, never a 501 page.
            if name.startswith("do_"):
                return self._dispatch
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("http access", extra={"line": format % args})

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
