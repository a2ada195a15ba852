"""An upstream that answers each job with one of the worst bodies (bench/worst_bodies.py):
`/v1/{project}/jobs/{name}/status` gets WORST[name]. Its own process, so the bodies it
builds never count in the handler's memory.

    python -m bench.worst_server PORT
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import sys

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


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
