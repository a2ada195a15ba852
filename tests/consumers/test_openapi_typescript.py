"""The HTTP API's contract as a TypeScript consumer reads it: openapi-typescript (pinned
by tests/consumers/js/package-lock.json) makes types from api/dlf-status.openapi.bundled.json,
and every answer the read routes and the status route give (tests/support/published.py:
fresh and stale documents, the fleet whole, paged, filtered and failing with 503,
history and transitions pages, empty ones) type-checks against its route's response
type under `tsc --strict`, as an object literal (so a member the types do not allow
fails too). A wrong value is refused, so the check is not vacuous.

Found this way: from api/dlf-status.openapi.yaml, whose bodies refer to
`../schemas/*.json`, openapi-typescript makes `$defs` a required member of every
document: no real answer type-checks. The bundle has no such reference."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from contract_tests.support import ROOT
from tests.consumers.javascript import tool
from tests.support.published import DOCUMENT, FLEET, HISTORY, TRANSITIONS, Published

pytestmark = pytest.mark.integration

BUNDLED_API = ROOT / "api" / "dlf-status.openapi.bundled.json"
ROUTES = {
    DOCUMENT: "/v1/{project_id}/jobs/{job_name}/status",
    FLEET: "/v1/{project_id}/jobs",
    HISTORY: "/v1/{project_id}/jobs/{job_name}/history",
    TRANSITIONS: "/v1/{project_id}/jobs/{job_name}/transitions",
}
TSC = ["--strict", "--noEmit", "--module", "nodenext", "--moduleResolution", "nodenext"]


def answers(published: dict[str, list[Published]]) -> list[Published]:
    """What the routes answer: every page, and the status route's documents (the
    stored documents are checked by quicktype, and are the history pages' content)."""
    return [
        document
        for schema in (FLEET, HISTORY, TRANSITIONS)
        for document in published[schema]
        if " page " in document.label or document.label.startswith("fleet")
    ] + [document for document in published[DOCUMENT] if document.label.startswith("api ")]


def declaration(number: int, schema: str, answer: Any) -> str:
    status = "503" if schema == FLEET and answer["failing"] else "200"
    body = f'paths["{ROUTES[schema]}"]["get"]["responses"]["{status}"]["content"]'
    return f'export const answer{number}: {body}["application/json"] = {json.dumps(answer)};'


@pytest.fixture(scope="module")
def types(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The types openapi-typescript makes of the bundled document."""
    directory = tmp_path_factory.mktemp("openapi-typescript")
    output = directory / "dlf-status.d.ts"
    done = subprocess.run(
        [tool("openapi-typescript"), str(BUNDLED_API), "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "⚠" not in done.stdout + done.stderr, done.stdout + done.stderr
    return output


def type_check(types: Path, name: str, lines: list[str]) -> subprocess.CompletedProcess[str]:
    source = types.parent / name
    header = 'import type { paths } from "./dlf-status.js";'
    source.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return subprocess.run(
        [tool("tsc"), *TSC, source.name],
        cwd=types.parent,
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_answer_type_checks_against_its_route(
    types: Path, published: dict[str, list[Published]]
) -> None:
    found = answers(published)
    labels = " ".join(answer.label for answer in found)
    for expected in ("(503)", "fleet by 3 page 2", "history never-observed", "api status stale"):
        assert expected in labels, labels  # the branches this test means to cover
    lines = [
        declaration(number, answer.schema, answer.parsed()) for number, answer in enumerate(found)
    ]
    done = type_check(types, "answers.ts", lines)
    assert done.returncode == 0, done.stdout[-4000:]


@pytest.mark.parametrize(
    ("member", "value"),
    [("failing", "yes"), ("jobs", [{"job_name": "j", "status": "BROKEN"}]), ("limit", None)],
)
def test_a_wrong_value_does_not_type_check(
    types: Path, published: dict[str, list[Published]], member: str, value: Any
) -> None:
    fleet = published[FLEET][0].parsed()
    done = type_check(types, "wrong.ts", [declaration(0, FLEET, {**fleet, member: value})])
    assert done.returncode != 0
    assert "error TS2322" in done.stdout, done.stdout[-2000:]
