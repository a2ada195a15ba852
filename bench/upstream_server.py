"""A fast fake upstream for the benchmarks: asyncio, keep-alive, every answer after
a fixed delay. Run in its own process so it does not share the benchmark's GIL.

    python -m bench.upstream_server PORT DELAY_MS NODES
"""

from __future__ import annotations

import asyncio
import json
import sys


def status_body(nodes: int) -> bytes:
    return json.dumps(
        {
            "name": "bench_job",
            "status": "NORMAL",
            "startTime": 1732521600000,
            "lastUpdateTime": 1732525200000,
            "nodes": [
                {
                    "name": f"node_{index:04d}",
                    "status": "NORMAL",
                    "type": "MRS Flink Job",
                    "logPath": f"obs://dlf-log/bench/node_{index:04d}.job",
                    "LastInstanceStatus": "running",
                    "jobInstanceId": index,
                    "bufferRecords": index,
                    "speed": 1.5,
                    "totalGetBytes": index * 1000,
                    "totalGetRecords": index,
                    "totalPutBytes": index * 900,
                    "totalPutRecords": index,
                }
                for index in range(nodes)
            ],
        }
    ).encode()


async def serve(port: int, delay: float, body: bytes) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n"
        b"X-Request-Id: bench\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                if not request:
                    break
                await asyncio.sleep(delay)
                writer.write(head + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    port, delay_ms, nodes = (int(value) for value in sys.argv[1:4])
    asyncio.run(serve(port, delay_ms / 1000, status_body(nodes)))
