"""A store as the real service fills it, for the tests that read it as data-platform
teams do (DuckDB, Spark, pyarrow): every golden document, the known-bad answers
lenient mode still stores, bodies whose extra keys differ only by case, and every
hostile job name and workspace we accept, some observed twice, some reported gone.

Also the README's rule for the name a Hive-style reader sees, written here on its own
(not by calling the encoder) so that the tests check the encoder against the README.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

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

CORPUS = ROOT / "tests" / "hostile" / "corpus.json"
README = ROOT / "README.md"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
SAFE_ASCII = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")

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

# Names around the cut (in bytes: 3 per CJK character, 2 per 'é', 4 per emoji), case
# and normal-form variants, the code points on each side of the escaped/raw boundary,
# values engines might read as something else.
EXTRA_NAMES = [
    "作业" * 12,
    "作业" * 33,  # 198 bytes: whole
    "作业" * 34,  # 204 bytes: cut
    "é" * 34,
    "é" * 101,
    "a" + "é" * 100,
    "作" * 128,
    "x/" * 64,
    "🚀" * 17,
    "🚀" * 51,
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
    "a\u00a0b",  # the first code point kept raw
    "a\ud7ffb\ue000c\ufffdd",
    "a\U0010fffdb",
    "\ufdd0noncharacter",  # kept escaped: per-character readers garble it (README)
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


def escaped_beyond_ascii(char: str) -> bool:
    """The README's few code points beyond ASCII that stay percent-encoded: C1
    controls, U+FDD0 to U+FDEF, and the last two code points of every plane."""
    code = ord(char)
    return 0x80 <= code <= 0x9F or 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def encoded_size(char: str) -> int:
    """UTF-8 bytes of one character's encoding, by the README's rule."""
    if char.isascii():
        return 1 if char in SAFE_ASCII else 3
    size = len(char.encode())
    return 3 * size if escaped_beyond_ascii(char) else size


def read_back(name: str) -> str:
    """The README's rule for the name a Hive reader sees: the name itself, or, when
    its encoding passes 200 bytes, its longest prefix of whole characters whose
    encoding takes 183 bytes or fewer, then '~' and 16 hex digits of its sha256."""
    if sum(map(encoded_size, name)) <= 200:
        return name
    prefix, used = "", 0
    for char in name:
        if used + encoded_size(char) > 183:
            break
        prefix, used = prefix + char, used + encoded_size(char)
    return prefix + "~" + hashlib.sha256(name.encode()).hexdigest()[:16]


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


def readme_blocks(language: str) -> list[str]:
    """The README's fenced blocks of `language`, as written (the consumer tests run
    them)."""
    text = README.read_text(encoding="utf-8")
    blocks: list[str] = re.findall(f"```{language}\n(.*?)```", text, re.DOTALL)
    return blocks


def fill_store(
    root: Path,
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    validator: ResponseValidator,
) -> list[JobRef]:
    """A local store at `root` written by the service: every name, each with a body in
    turn, some names in every workspace, some jobs observed twice (two contents), a
    few reported gone. Returns the jobs."""
    answers = bodies()
    serving: list[bytes] = []

    def answer(_request: Request) -> Response:
        return Response(serving[-1], status=200, content_type="application/json;charset=UTF-8")

    upstream.expect_request(re.compile(r"/v1/.*")).respond_with_handler(answer)
    service = bootstrap.build_status_service(
        root_settings(VALIDATION_MODE="lenient", SERVE_STALE="false"),
        upstream=make_client(),
        store=LocalDirectoryStore(root),
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
    return jobs


def gone_jobs(jobs: list[JobRef]) -> list[JobRef]:
    """Jobs the fixture reports gone: a few, a cut name among them."""
    return [job for job in jobs if job.workspace == "ws1"][:3] + [
        job for job in jobs if job.job_name == "作" * 128
    ][:1]


def documents(root: Path, part: str) -> list[dict[str, Any]]:
    files = sorted(path for path in (root / part).rglob("*.json") if path.is_file())
    return [json.loads(path.read_bytes()) for path in files]
