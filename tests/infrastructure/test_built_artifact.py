"""`sam build` works here without Docker, and each function it builds runs as Lambda
runs it: the real runtime interface client (awslambdaric) against a Runtime API on
loopback, each handler invoked with a recorded event of its own trigger, against
pytest-httpserver and SeaweedFS.

The client runs with `python -S`: only the built artifact and awslambdaric are on
its path, so a dependency missing from the artifact fails here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from pytest_httpserver import HTTPServer

from tests.infrastructure.conftest import FUNCTIONS, RIC, ROOT, artifact_environment
from tests.integration.conftest import PROJECT, exchange_response, match_path
from tests.support.events import http_api_event, queue_event, scheduled_event
from tests.support.runtime_api import RuntimeApi
from tests.support.seaweed import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    SeaweedServer,
)

pytestmark = pytest.mark.integration

TIME = "2026-11-25T11:30:00Z"


class RunningFunction(NamedTuple):
    api: RuntimeApi
    prefix: str


@pytest.fixture
def start_function(
    build_dir: Path, seaweed: SeaweedServer, httpserver: HTTPServer
) -> Iterator[Callable[[str], RunningFunction]]:
    """Starts a built function under awslambdaric, as Lambda runs it: its own artifact,
    its own handler, only the artifact and the client on its path."""
    if not (RIC / "awslambdaric").is_dir():
        pytest.fail(f"{RIC} is missing: `make test` installs awslambdaric there")
    started: list[tuple[subprocess.Popen[bytes], RuntimeApi]] = []

    def start(function: str) -> RunningFunction:
        artifact = build_dir / function
        prefix = f"artifact-{uuid.uuid4().hex[:8]}"
        api = RuntimeApi().start()
        environment = artifact_environment(
            function,
            artifact,
            api,
            seaweed=seaweed,
            upstream=httpserver.url_for("").rstrip("/"),
            prefix=prefix,
        )
        process = subprocess.Popen(
            [sys.executable, "-S", "-m", "awslambdaric", FUNCTIONS[function]],
            cwd=artifact,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        started.append((process, api))
        return RunningFunction(api, prefix)

    yield start
    for process, api in started:
        process.terminate()
        output, _ = process.communicate(timeout=10)
        api.stop()
        assert b"artifact-token-value" not in output, "the IAM token reached the logs"


def latest_jobs(seaweed: SeaweedServer, prefix: str) -> list[str]:
    listing = seaweed.client().list_objects_v2(Bucket=seaweed.bucket, Prefix=f"{prefix}/latest/")
    return [item["Key"].rsplit("/", 2)[-2] for item in listing.get("Contents", [])]


def test_the_built_http_function_answers_every_route(
    start_function: Callable[[str], RunningFunction],
    httpserver: HTTPServer,
    seaweed: SeaweedServer,
) -> None:
    api, prefix = start_function("StatusApiFunction")
    httpserver.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2019-seven-nodes")
    )

    invocation = api.invoke(http_api_event(PROJECT, "job_sms"))

    assert api.init_error is None
    assert invocation.error is None, invocation.error
    answer: dict[str, Any] = invocation.response
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["summary"]["nodes_by_status"]["EXCEPTION"] == 1
    assert latest_jobs(seaweed, prefix) == ["job_name=job_sms"]

    # The read routes of the same function, from the bucket only.
    fleet = api.invoke(http_api_event(PROJECT, None, route=None)).response
    tag = fleet["headers"]["ETag"]
    unchanged = api.invoke(
        http_api_event(PROJECT, None, route=None, headers={"if-none-match": tag})
    ).response
    history = api.invoke(http_api_event(PROJECT, "job_sms", route="history")).response

    assert fleet["statusCode"] == 200
    assert [row["job_name"] for row in json.loads(fleet["body"])["jobs"]] == ["job_sms"]
    assert (unchanged["statusCode"], unchanged["headers"]["ETag"]) == (304, tag)
    assert history["statusCode"] == 200
    assert len(json.loads(history["body"])["documents"]) == 1


def test_the_built_direct_function_answers_a_job_with_its_document(
    start_function: Callable[[str], RunningFunction],
    httpserver: HTTPServer,
    seaweed: SeaweedServer,
) -> None:
    api, prefix = start_function("DlfStatusFunction")
    httpserver.expect_request(match_path("job_direct")).respond_with_response(
        exchange_response("doc-2024-success")
    )

    invocation = api.invoke({"project_id": PROJECT, "job_name": "job_direct"})

    assert invocation.error is None, invocation.error
    document: dict[str, Any] = invocation.response
    assert (document["source"]["job_name"], document["validation"]["valid"]) == (
        "job_direct",
        True,
    )
    assert latest_jobs(seaweed, prefix) == ["job_name=job_direct"]


def test_the_built_tick_function_runs_a_recorded_scheduled_event(
    start_function: Callable[[str], RunningFunction],
    httpserver: HTTPServer,
    seaweed: SeaweedServer,
) -> None:
    api, prefix = start_function("TickFunction")
    jobs = [{"project_id": PROJECT, "job_name": name} for name in ("tick-a", "tick-b", "gone")]
    seaweed.client().put_object(
        Bucket=seaweed.bucket, Key=f"{prefix}/config/jobs.json", Body=json.dumps({"jobs": jobs})
    )
    for name in ("tick-a", "tick-b"):
        httpserver.expect_request(match_path(name)).respond_with_response(
            exchange_response("doc-2024-success")
        )
    httpserver.expect_request(match_path("gone")).respond_with_response(
        exchange_response("doc-2024-failure-dlf0100")
    )

    invocation = api.invoke(scheduled_event(id="evt-artifact", time="2026-11-25T11:00:00Z"))

    assert invocation.error is None, invocation.error
    report: dict[str, Any] = invocation.response
    assert (report["tick_id"], report["jobs"], report["ok"], report["failed"]) == (
        "evt-artifact",
        3,
        2,
        1,
    )
    history = seaweed.client().list_objects_v2(Bucket=seaweed.bucket, Prefix=f"{prefix}/history/")
    assert len(history["Contents"]) == 2
    assert all("/20261125T110000000Z-" in item["Key"] for item in history["Contents"])


def test_the_built_queue_function_answers_a_recorded_batch_with_its_failures(
    start_function: Callable[[str], RunningFunction],
    httpserver: HTTPServer,
    seaweed: SeaweedServer,
) -> None:
    api, prefix = start_function("QueueFunction")
    httpserver.expect_request(match_path("queued-ok")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    httpserver.expect_request(match_path("queued-busy")).respond_with_response(
        exchange_response("server-503-json")
    )
    bodies = [
        json.dumps({"project_id": PROJECT, "job_name": name, "scheduled_time": TIME})
        for name in ("queued-ok", "queued-busy")
    ]

    invocation = api.invoke(queue_event(bodies))

    assert invocation.error is None, invocation.error
    assert invocation.response == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
    assert latest_jobs(seaweed, prefix) == ["job_name=queued-ok"]


# -- what the Makefile build ships (handler/Makefile; README, Deploying) ------------------

PACKAGE = ROOT / "handler" / "dlf_status"
# A pyc's flags word (PEP 552): hash-based, and the source not checked at import.
UNCHECKED_HASH = 0b01


def bytecode_of(source: Path) -> Path:
    """Where the import system looks for a module's bytecode (PYTHONPYCACHEPREFIX aside)."""
    return source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"


def package_files(root: Path) -> dict[str, bytes]:
    """Every file of a dlf_status tree but bytecode, by its path inside the package."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_built_function_holds_the_package_and_the_pinned_dependencies(
    build_dir: Path, function: str
) -> None:
    """What SAM's python_pip workflow put in the artifact, the Makefile puts there too:
    every file of the package (what the wheel ships) and each pinned requirement."""
    artifact = build_dir / function
    pinned = [
        line.split("==")
        for line in (ROOT / "handler" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    installed = [
        path.name.removesuffix(".dist-info").rsplit("-", 1) for path in artifact.glob("*.dist-info")
    ]

    assert package_files(artifact / "dlf_status") == package_files(PACKAGE)
    assert {canonical_name(name): version for name, version in installed} == {
        canonical_name(name): version for name, version in pinned
    }


def canonical_name(name: str) -> str:
    """A distribution's name as its .dist-info directory and requirements.txt both map to."""
    return re.sub(r"[-_.]+", "_", name).lower()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_built_function_ships_unchecked_bytecode_for_every_module(
    build_dir: Path, function: str
) -> None:
    """Each module of the artifact, ours and the dependencies', has its bytecode from
    this Python version, hash-based and unchecked, for the source shipped beside it."""
    artifact = build_dir / function
    ours = {path.relative_to(PACKAGE) for path in PACKAGE.rglob("*.py")}
    sources = sorted(artifact.rglob("*.py"))

    assert {
        path.relative_to(artifact / "dlf_status") for path in artifact.glob("dlf_status/**/*.py")
    } == ours
    for source in sources:
        header = bytecode_of(source).read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, source
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH, source
        assert header[8:16] == importlib.util.source_hash(source.read_bytes()), source


# Run in the artifact's interpreter: records every module compiled from source and every
# source file read (a checked-hash pyc reads its source), imports the handler, reports.
IMPORT_FROM_BYTECODE = """
import importlib, json, sys
from importlib.machinery import SourceFileLoader

compiled, read = [], []
to_code, get_data = SourceFileLoader.source_to_code, SourceFileLoader.get_data

def source_to_code(self, data, path, **options):
    compiled.append(str(path))
    return to_code(self, data, path, **options)

def read_file(self, path):
    if str(path).endswith(".py"):
        read.append(str(path))
    return get_data(self, path)

SourceFileLoader.source_to_code, SourceFileLoader.get_data = source_to_code, read_file
handler = importlib.import_module(sys.argv[1].rpartition(".")[0])
from dlf_status.errors import ConfigurationError
ours = {
    name: [module.__spec__.origin, module.__spec__.cached]
    for name, module in sys.modules.items()
    if name == "dlf_status" or name.startswith("dlf_status.")
}
started = not isinstance(handler.STARTED, ConfigurationError)
print(json.dumps({"compiled": compiled, "read": read, "ours": ours, "started": started}))
"""


def link_but_sources(source: str, target: str) -> None:
    """Copies a source file (a new file, a new time), links any other."""
    if source.endswith(".py"):
        shutil.copyfile(source, target)
    else:
        os.link(source, target)


@pytest.mark.parametrize(("function", "handler"), FUNCTIONS.items())
def test_each_built_handler_imports_from_bytecode_whatever_the_sources_times(
    build_dir: Path, tmp_path: Path, function: str, handler: str
) -> None:
    """As on Lambda: the deployment zip gives the sources times of its own and nothing
    can be written beside them; the handler's import compiles nothing and reads no source."""
    artifact = tmp_path / function
    shutil.copytree(build_dir / function, artifact, copy_function=link_but_sources)
    for source in artifact.rglob("*.py"):
        os.utime(source, (946_684_800, 946_684_800))  # 2000-01-01, as an unpacked zip may say
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(artifact),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": REGION,
        "SNAPSHOT_URI": "s3://bucket/prefix",
        "DLF_ENDPOINT": "http://127.0.0.1:9",
        "DLF_AUTH_TOKEN": "artifact-token-value",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }

    result = subprocess.run(
        [sys.executable, "-S", "-c", IMPORT_FROM_BYTECODE, handler],
        cwd=artifact,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])  # after any log line
    assert report["started"]
    # The artifact's modules only: the interpreter's own library is not what is shipped.
    assert [path for path in report["compiled"] if Path(path).is_relative_to(artifact)] == []
    assert [path for path in report["read"] if Path(path).is_relative_to(artifact)] == []
    assert handler.rpartition(".")[0] in report["ours"]
    for name, (origin, cached) in report["ours"].items():
        assert Path(origin).is_relative_to(artifact), name
        assert Path(cached).is_file(), name
