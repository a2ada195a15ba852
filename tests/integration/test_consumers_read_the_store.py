"""The store as a data-platform team reads it: the README's DuckDB queries, run as
written, over a store that the real service filled from a real HTTP upstream with
every golden document, the known-bad answers lenient mode still stores, bodies whose
extra keys differ only by case, and every hostile job name and workspace we accept.

DuckDB is the consumer here because it runs in-process and offline; its httpfs
extension (to read SeaweedFS directly) would be a download, so the store is the
local directory one, which has the same layout.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from contract_tests.support import INVALID_FIXTURES, ROOT, read_fixture, success_fixtures
from dlf_status import bootstrap
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.model import JobRef
from dlf_status.errors import InvalidInput, JobNotFound, UpstreamErrorInfo
from tests.integration.conftest import PROJECT, ListMetrics, TickingClock
from tests.support.root import root_settings

pytestmark = pytest.mark.integration

README = ROOT / "README.md"
CORPUS = ROOT / "tests" / "hostile" / "corpus.json"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
KEEP = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")

# Bodies whose extra keys differ only by case, at one level and across documents:
# each broke DuckDB's schema detection for the whole scan.
CASE_COLLISIONS: list[dict[str, Any]] = [
    {
        "name": "both_spellings",
        "startTime": 1682582619000,
        "starttime": 1682582619000,
        "labels": {"Team": "a", "team": "b", "TEAM": [{"Owner": 1, "owner": 2}]},
        "nodes": [
            {"name": "n", "LastInstanceStatus": "w", "lastInstanceStatus": "x", "K": 1, "k": 2}
        ],
    },
    {"name": "unreadable_start", "startTime": "yesterday", "nodes": [{"name": "n", "Extra": 1}]},
    {"name": "sdk_second", "starttime": "soon", "nodes": [{"name": "n", "extra": "x"}]},
    {"name": "empty_key", "": 1, "nodes": [{"name": "n", "": {"": []}}]},
    # as deep as the upstream may nest (jsoncodec.MAX_DEPTH): kept as JSON text in extra
    {"name": "deep", "Deep": json.loads("[" * 62 + "]" * 62)},
]

# Names around the cut (the two among them), case and normal-form variants,
# values engines might read as something else.
EXTRA_NAMES = [
    "作业" * 12,
    "é" * 34,
    "a" + "é" * 40,
    "作" * 128,
    "x/" * 64,
    "🚀" * 17,
    "Job",
    "job",
    "JOB",
    unicodedata.normalize("NFC", "café"),
    unicodedata.normalize("NFD", "café"),
    "%5F_HIVE_DEFAULT_PARTITION__",
    "__hive_default_partition__",
    "a~b",
    "NULL",
    "null",
    "123",
]
WORKSPACES = [None, "ws1", NULL_PARTITION, "WS1"]
# One job name in the default workspace, in a workspace and in a project named like
# the null partition, and elsewhere: four jobs, four keys, four rows.
SAME_NAME_ELSEWHERE = [
    (PROJECT, None),
    (PROJECT, NULL_PARTITION),
    (NULL_PARTITION, None),
    ("p_2", "p_2"),
]


def accepted_names() -> list[str]:
    corpus = json.loads(CORPUS.read_text(encoding="utf-8"))["strings"]
    names: list[str] = []
    for name in [*corpus, *EXTRA_NAMES]:
        try:
            JobRef.parse(PROJECT, name)
        except InvalidInput:
            continue
        if name not in names:
            names.append(name)
    return names


def encoded_length(text: str) -> int:
    return sum(1 if byte in KEEP else 3 for byte in text.encode())


def read_back(name: str) -> str:
    """The README's rule for the name a Hive reader sees: the name itself, or, when
    its encoding passes 200 characters, its longest prefix of whole characters that
    encodes to 183 or fewer, then '~' and 16 hex digits of the name's sha256."""
    if encoded_length(name) <= 200:
        return name
    prefix = ""
    for char in name:
        if encoded_length(prefix + char) > 183:
            break
        prefix += char
    return prefix + "~" + hashlib.sha256(name.encode()).hexdigest()[:16]


def readme_queries() -> list[str]:
    """Every SQL block of the README that reads the store."""
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    return [block for block in blocks if "read_json(" in block]


def connect() -> duckdb.DuckDBPyConnection:
    # Offline: nothing may be downloaded on the way.
    return duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )


def scan(query: str, part: Path) -> list[tuple[Any, ...]]:
    """`query` over every document under `part` (a Hive-partitioned tree)."""
    return connect().sql(query, params={"files": f"{part}/**/*.json"}).fetchall()


def bodies() -> list[tuple[str, bytes]]:
    """(what, raw body) of every 200 answer the store should hold a document of."""
    found = [(path.stem, read_fixture(path)) for path in success_fixtures()]
    found += [
        (path.stem, read_fixture(path))
        for path in INVALID_FIXTURES
        if read_fixture(path)["status"] == 200 and isinstance(read_fixture(path).get("body"), dict)
    ]
    raw = [(what, json.dumps(fixture["body"]).encode()) for what, fixture in found]
    raw += [(body["name"], json.dumps(body).encode()) for body in CASE_COLLISIONS]
    return raw


@pytest.fixture
def filled_store(
    tmp_path: Path,
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    validator: ResponseValidator,
) -> tuple[Path, list[JobRef]]:
    """A local store written by the service: every name, each with a body in turn,
    some names in every workspace, and some jobs observed twice (two contents)."""
    answers = bodies()
    serving: list[bytes] = []

    def answer(_request: Request) -> Response:
        return Response(serving[-1], status=200, content_type="application/json;charset=UTF-8")

    upstream.expect_request(re.compile(r"/v1/.*")).respond_with_handler(answer)
    service = bootstrap.build_status_service(
        root_settings(VALIDATION_MODE="lenient", SERVE_STALE="false"),
        upstream=make_client(),
        store=LocalDirectoryStore(tmp_path / "snapshots"),
        validator=validator,
        clock=TickingClock(),
        metrics=ListMetrics(),
    )
    names = accepted_names()
    jobs = [JobRef.parse(PROJECT, name) for name in names]
    jobs += [JobRef.parse(PROJECT, name, ws) for name in names[:6] for ws in WORKSPACES[1:]]
    jobs += [
        JobRef.parse(project, "job_sms", workspace) for project, workspace in SAME_NAME_ELSEWHERE
    ]
    assert len(jobs) > 2 * len(answers)  # every body is stored more than once
    for index, job in enumerate(jobs):
        for turn in range(1 + index % 2):
            serving.append(answers[(index + turn) % len(answers)][1])
            service.observe(job)
    for job in gone_jobs(jobs):  # their latest.json becomes a gone document
        service.record_gone(job, JobNotFound("gone", UpstreamErrorInfo(400, "DLF.0100")))
    return tmp_path / "snapshots", jobs


def gone_jobs(jobs: list[JobRef]) -> list[JobRef]:
    """Jobs the fixture reports gone: a few, a cut name among them."""
    return [job for job in jobs if job.workspace == "ws1"][:3] + [
        job for job in jobs if job.job_name == "作" * 128
    ][:1]


def documents(root: Path, part: str) -> list[dict[str, Any]]:
    files = sorted(path for path in (root / part).rglob("*.json") if path.is_file())
    return [json.loads(path.read_bytes()) for path in files]


def test_the_readme_queries_read_every_document_of_the_store(
    filled_store: tuple[Path, list[JobRef]],
) -> None:
    root, jobs = filled_store
    queries = readme_queries()
    assert len(queries) >= 2  # history and latest

    for query in queries:
        part = "latest" if "snapshots/latest/" in query else "history"
        rows = connect().sql(query.replace("snapshots/", f"{root}/")).fetchall()

        read = documents(root, part)
        if "'job-gone'" in query:  # the query of the jobs reported gone
            read = [document for document in read if document.get("kind") == "job-gone"]
            assert len(read) == len(gone_jobs(jobs))
        assert len(rows) == len(read), query
    assert len(documents(root, "latest")) == len(set(jobs))


def test_a_gone_job_reads_as_no_status_never_as_its_last_one(
    filled_store: tuple[Path, list[JobRef]],
) -> None:
    root, jobs = filled_store
    query = """
        SELECT source.job_name, source.workspace, job.status
        FROM read_json($files, hive_partitioning = true)
    """

    rows = scan(query, root / "latest")

    gone = {(job.job_name, job.workspace) for job in gone_jobs(jobs)}
    assert len(gone) == 4
    statuses = {(name, workspace): status for name, workspace, status in rows}
    assert {key for key, status in statuses.items() if status is None} == gone


@pytest.mark.parametrize("part", ["history", "latest"])
def test_partition_columns_decode_to_the_documents_source(
    filled_store: tuple[Path, list[JobRef]], part: str
) -> None:
    root, _ = filled_store
    query = """
        SELECT project_id, workspace, job_name,
               source.project_id, source.workspace, source.job_name
        FROM read_json($files, hive_partitioning = true)
    """

    rows = scan(query, root / part)

    assert len(rows) == len(documents(root, part))
    for project, workspace, job_name, doc_project, doc_workspace, doc_job_name in rows:
        assert (project, workspace) == (doc_project, doc_workspace)
        assert job_name == read_back(doc_job_name)


def test_long_names_read_back_in_their_documented_cut_form(
    filled_store: tuple[Path, list[JobRef]],
) -> None:
    root, _ = filled_store
    query = """
        SELECT DISTINCT job_name, source.job_name
        FROM read_json($files, hive_partitioning = true)
        WHERE contains(job_name, '~') AND job_name <> source.job_name
    """

    cut = dict(scan(query, root / "latest"))

    assert {read_back("作业" * 12), read_back("é" * 34), read_back("作" * 128)} <= set(cut)
    for shown, name in cut.items():
        assert name.startswith(shown[:-17])


def test_a_workspace_or_project_named_like_the_null_partition_is_its_own_job(
    filled_store: tuple[Path, list[JobRef]],
) -> None:
    root, _ = filled_store
    query = """
        SELECT project_id, workspace, count(*)
        FROM read_json($files, hive_partitioning = true)
        WHERE source.job_name = 'job_sms' GROUP BY ALL
    """

    rows = scan(query, root / "latest")

    assert sorted(rows, key=str) == sorted(
        [(project, workspace, 1) for project, workspace in SAME_NAME_ELSEWHERE], key=str
    )


def test_extra_keys_that_differ_only_by_case_are_separate_columns(
    filled_store: tuple[Path, list[JobRef]],
) -> None:
    root, _ = filled_store
    query = """
        SELECT extra."starttime", extra.labels."^team", extra.labels."team",
               extra.labels."^t^e^a^m"
        FROM read_json($files, hive_partitioning = true)
        WHERE job.name = 'both_spellings' LIMIT 1
    """

    rows = scan(query, root / "history")

    # Other documents hold other types under these keys: DuckDB reads them as JSON.
    assert [tuple(json.loads(value) for value in row) for row in rows] == [
        (1682582619000, "a", "b", [{"^owner": 1, "owner": 2}])
    ]
