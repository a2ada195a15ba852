"""Nothing lost under concurrency: writer processes, each with gateway and tick
threads, on the same three jobs in one SeaweedFS bucket with versioning on. The test
counts what was written and what it finds, and checks each job's transition records
against every version its latest.json held (the bucket keeps them all)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlf_status.domain import jsoncodec
from dlf_status.domain.normalize import content_hash
from tests.support.schemas import validator
from tests.support.seaweed import ACCESS_KEY, REGION, SECRET_KEY, SeaweedServer
from tests.support.transitions import assert_chain

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 4
ROUNDS = 10
SCHEMA = validator("status-document.v1.schema.json")  # strict: a stray member fails


@pytest.fixture(scope="module")
def versioned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed-race"), bucket="race").start()
    server.client().put_bucket_versioning(
        Bucket="race", VersioningConfiguration={"Status": "Enabled"}
    )
    yield server
    server.stop()


def _objects(server: SeaweedServer, prefix: str) -> tuple[dict[str, bytes], dict[str, int]]:
    client = server.client()
    bodies: dict[str, bytes] = {}
    versions: dict[str, int] = defaultdict(int)
    for page in client.get_paginator("list_object_versions").paginate(
        Bucket=server.bucket, Prefix=prefix + "/"
    ):
        for version in page.get("Versions", []):
            versions[version["Key"]] += 1
    for key in versions:
        bodies[key] = client.get_object(Bucket=server.bucket, Key=key)["Body"].read()
    return bodies, versions


def _latest_versions(server: SeaweedServer, key: str) -> list[dict[str, Any]]:
    """Every document latest.json held, in the order it held them: versions of
    latest.json only ever grow in (observed_at, content hash)."""
    client = server.client()
    documents = []
    for page in client.get_paginator("list_object_versions").paginate(
        Bucket=server.bucket, Prefix=key
    ):
        for version in page.get("Versions", []):
            if version["Key"] == key:
                answer = client.get_object(
                    Bucket=server.bucket, Key=key, VersionId=version["VersionId"]
                )
                documents.append(jsoncodec.loads(answer["Body"].read()))
    return sorted(documents, key=lambda document: (document["observed_at"], content_hash(document)))


def test_many_writers_lose_nothing_and_corrupt_nothing(versioned: SeaweedServer) -> None:
    prefix = f"race-{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "PYTHONPATH": str(ROOT),
    }
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.concurrency.writer_process",
                versioned.endpoint,
                versioned.bucket,
                prefix,
                str(writer),
                str(WRITERS),
                str(ROUNDS),
            ],
            stdout=subprocess.PIPE,
            env=environment,
            cwd=ROOT,
        )
        for writer in range(WRITERS)
    ]
    results: list[dict[str, Any]] = []
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0
        results.append(json.loads(output.decode().strip().splitlines()[-1]))

    handed_out = [observation for result in results for observation in result["handed_out"]]
    failures = [failure for result in results for failure in result["failures"]]
    bodies, versions = _objects(versioned, prefix)
    history = {
        key: jsoncodec.loads(body) for key, body in bodies.items() if "/history/" in f"/{key}"
    }
    latest = {
        key: jsoncodec.loads(body) for key, body in bodies.items() if key.endswith("latest.json")
    }

    # What was written: WRITERS x (3 gateway threads + 3 jobs per tick) x ROUNDS.
    assert len(handed_out) == WRITERS * ROUNDS * 6
    assert failures == []
    # Every observation is new content, so every one has exactly one history object...
    stored_ids = sorted(document["extra"]["observation"] for document in history.values())
    assert stored_ids == sorted(handed_out)
    # ...written once, never overwritten, named after its own content.
    assert all(count == 1 for key, count in versions.items() if "/history/" in f"/{key}")
    for key, document in history.items():
        assert key.rsplit("-", 1)[1] == content_hash(document)[:16] + ".json"
    # The transition records of each job form one chain that matches every version
    # latest.json held: no phantom, no missed transition, every record schema-valid.
    transitions = [
        jsoncodec.loads(body) for key, body in bodies.items() if "/transitions/" in f"/{key}"
    ]
    assert transitions, "the writers changed statuses: there must be transitions"
    assert all(count == 1 for key, count in versions.items() if "/transitions/" in f"/{key}")
    for key, document in latest.items():
        job = document["source"]["job_name"]
        held = _latest_versions(versioned, key)
        assert len(held) == versions[key] > 1
        assert_chain([r for r in transitions if r["source"]["job_name"] == job], held)
    # latest.json of each job is intact and holds that job's newest observation.
    assert len(latest) == 3
    for document in latest.values():
        assert list(SCHEMA.iter_errors(document)) == []
        job = document["source"]["job_name"]
        newest = max(
            (d for d in history.values() if d["source"]["job_name"] == job),
            key=lambda d: (d["observed_at"], content_hash(d)),
        )
        assert document["extra"]["observation"] == newest["extra"]["observation"]
