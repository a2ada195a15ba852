"""An upstream that answers each job with one of the worst bodies (bench/worst_bodies.py):
`/v1/{project}/jobs/{name}/status` gets WORST[name]. Its own process, so the bodies it
builds never count in the handler's memory.

    python -m bench.worst_server PORT
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.worst_bodies import WORST


@functools.cache
def answer(name: str) -> bytes:
    worst = WORST[name]
    body = worst.make()
    encoding = ""
    if worst.gzip:
        body = gzip.compress(body, compresslevel=9)
        encoding = "Content-Encoding: gzip\r\n"
    head = (
        f"HTTP/1.1 {worst.status} Whatever\r\nContent-Type: application/json;charset=UTF-8\r\n"
        f"{encoding}Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def serve(port: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                path = request.split(b" ", 2)[1].decode()
                writer.write(answer(path.split("/")[4]))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


@contextmanager
def running() -> Iterator[int]:
    """This server in a process of its own on a free loopback port, for the bench and
    the tests alike; the process dies with the thread that started it (setpriv), so a
    run that dies leaves no server behind."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    setpriv = shutil.which("setpriv")  # util-linux
    if setpriv is None:
        raise RuntimeError("setpriv (util-linux) is not on PATH")
    server = subprocess.Popen(  # noqa: S603 - our own benchmark server
        [
            setpriv,
            "--pdeathsig",
            "KILL",
            "--",
            sys.executable,
            "-m",
            "bench.worst_server",
            str(port),
        ],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
        text=True,
    )
    try:
        assert server.stdout is not None
        started = server.stdout.readline().strip()
        if started != "ready":
            raise RuntimeError(f"bench.worst_server did not start (said {started[:200]!r})")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
