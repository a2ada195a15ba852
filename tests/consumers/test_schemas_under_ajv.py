"""Every published schema under ajv, the JSON Schema validator most consumers run, in
strict mode as they run it (Ajv2020 with ajv-formats; strict at its defaults, where
anything ajv would log fails here, and fully on):

* each schema compiles alone, with no strict-mode message: no keyword without the
  type it applies to, no reference to another file a consumer must find;
* every document the product publishes (tests/support/published.py) is valid under
  ajv, and under our Python validator (jsonschema) in the schema's strict form, where
  a member the schema does not name fails (tests/support/schemas.py);
* on mutations of those documents (a member removed or added, a value of another type,
  a string with a line break after it, ...) ajv and jsonschema give the same verdict,
  jsonschema given the exact form (each pattern's `$` written `$(?!\n)`): Python's
  `$` also matches before a final line break, ECMA-262's does not; that one known
  difference, on the schemas as published, is pinned by its own test below.

What a later minor version may write is in test_schema_evolution.py.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest

from tests.consumers.javascript import run_script
from tests.support.published import (
    DOCUMENT,
    FLEET,
    KINDS,
    SCHEMAS,
    TRANSITION,
    Published,
)
from tests.support.schemas import validator

# A mutation is one change at one place of a document: a bounded, fixed set per kind
# (the same on every run), enough to reach every keyword of every schema.
MUTATIONS_PER_DOCUMENT = 400
DOCUMENTS_MUTATED_PER_KIND = 3
REPLACEMENTS: list[Any] = [None, True, 0, -1, 1.5, 2**64, "", "x", [], {}]
Path = tuple[str | int, ...]


class Mutation(NamedTuple):
    schema: str
    label: str
    document: Any


def schema_of(file: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / file).read_text(encoding="utf-8"))
    return loaded


def walk(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from walk(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk(child, (*path, index))


def replaced(text: str, path: Path, change: Any) -> Any:
    """The document of `text` with the value at `path` set to `change` (or removed,
    when `change` is REMOVE)."""
    document = json.loads(text)
    if not path:
        return change
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if change is REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = change
    return document


REMOVE = object()


def changes_at(value: Any) -> Iterator[tuple[str, Any]]:
    """What to put in place of `value`: other types, near misses of its own kind."""
    for replacement in REPLACEMENTS:
        if type(replacement) is not type(value) or replacement != value:
            yield f"= {json.dumps(replacement)}", replacement
    if isinstance(value, str):
        yield "+ line break", value + "\n"
        yield "+ space", value + " "
        yield "lower case", value.lower()
        yield "- last character", value[:-1]
    if isinstance(value, int) and not isinstance(value, bool):
        yield "+ 1", value + 1
        yield "negated - 1", -value - 1
        yield "as a float", float(value)
    if isinstance(value, dict):
        yield "+ member", {**value, "unexpected_member": 1}
    if isinstance(value, list) and value:
        yield "+ repeat", [*value, value[-1]]


def mutations_of(document: Published) -> list[Mutation]:
    candidates = []
    for path, value in walk(document.parsed()):
        where = "/" + "/".join(map(str, path))
        if path:
            candidates.append((f"{where} removed", path, REMOVE))
        for what, change in changes_at(value):
            candidates.append((f"{where} {what}", path, change))
    chosen = random.Random(document.label).sample(
        candidates, min(MUTATIONS_PER_DOCUMENT, len(candidates))
    )
    return [
        Mutation(
            document.schema, f"{document.label}: {what}", replaced(document.text, path, change)
        )
        for what, path, change in chosen
    ]


def mutated(published: dict[str, list[Published]]) -> list[Mutation]:
    """Per kind: the smallest document, the largest, and one between."""
    found = []
    for kind in KINDS:
        documents = sorted(published[kind], key=lambda document: len(document.text))
        picks = {0, len(documents) // 2, len(documents) - 1}
        for index in sorted(picks)[:DOCUMENTS_MUTATED_PER_KIND]:
            found += mutations_of(documents[index])
    return found


def verdict_word(valid: bool) -> str:
    return "accepts" if valid else "refuses"


class AjvRun(NamedTuple):
    compiled: dict[str, dict[str, list[str]]]
    together: list[str]
    documents: list[tuple[Published, dict[str, Any]]]
    mutations: list[tuple[Mutation, dict[str, Any]]]


@pytest.fixture(scope="module")
def ajv(published: dict[str, list[Published]]) -> AjvRun:
    """One node run: every schema compiled, every document and mutation validated."""
    documents = [document for kind in KINDS for document in published[kind]]
    mutations = mutated(published)
    cases = [{"schema": document.schema, "text": document.text} for document in documents]
    cases += [
        {"schema": mutation.schema, "text": json.dumps(mutation.document)} for mutation in mutations
    ]
    answer = run_script(
        "ajv-check.mjs", {"schemas": {kind: schema_of(kind) for kind in KINDS}, "cases": cases}
    )
    verdicts = answer["verdicts"]
    return AjvRun(
        answer["compiled"],
        answer["together"],
        list(zip(documents, verdicts[: len(documents)], strict=True)),
        list(zip(mutations, verdicts[len(documents) :], strict=True)),
    )


@pytest.mark.parametrize("kind", KINDS)
def test_the_schema_compiles_alone_with_no_strict_mode_message(ajv: AjvRun, kind: str) -> None:
    assert ajv.compiled[kind] == {"defaults": [], "strict": []}


def test_every_schema_loads_into_one_ajv_instance_by_its_id(ajv: AjvRun) -> None:
    assert ajv.together == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_published_document_is_valid_under_ajv_and_jsonschema(ajv: AjvRun, kind: str) -> None:
    documents = [
        (document, verdict) for document, verdict in ajv.documents if document.schema == kind
    ]

    assert documents, kind
    refused_by_ajv = {
        document.label: verdict["errors"] for document, verdict in documents if not verdict["valid"]
    }
    refused_by_jsonschema = {
        document.label: [
            error.message[:200] for error in validator(kind).iter_errors(document.parsed())
        ][:3]  # the strict form
        for document, _ in documents
        if not validator(kind).is_valid(document.parsed())
    }
    assert refused_by_ajv == {}
    assert refused_by_jsonschema == {}


@pytest.mark.parametrize("kind", KINDS)
def test_ajv_and_jsonschema_agree_on_every_mutation(ajv: AjvRun, kind: str) -> None:
    mutations = [
        (mutation, verdict) for mutation, verdict in ajv.mutations if mutation.schema == kind
    ]
    verdicts = {
        mutation.label: (
            verdict["valid"],
            validator(kind, "exact").is_valid(mutation.document),
        )
        for mutation, verdict in mutations
    }

    disagreements = {
        label: f"ajv {verdict_word(by_ajv)}, jsonschema {verdict_word(by_python)}"
        for label, (by_ajv, by_python) in verdicts.items()
        if by_ajv != by_python
    }
    assert disagreements == {}
    # Both verdicts occur: the mutations reach the schema's constraints.
    assert {python for _, python in verdicts.values()} == {True, False}


def timestamp_with_a_line_break(document: dict[str, Any]) -> None:
    document["observed_at"] += "\n"


def version_with_a_line_break(document: dict[str, Any]) -> None:
    document["schema_version"] += "\n"


def change_null_on_both_sides(record: dict[str, Any]) -> None:
    record["changes"][0].update({"from": None, "to": None})


# Refusals each schema makes on purpose, which a sample of mutations may miss.
REFUSED = [
    (DOCUMENT, timestamp_with_a_line_break),
    (FLEET, version_with_a_line_break),
    (TRANSITION, change_null_on_both_sides),
]


@pytest.mark.parametrize(
    ("kind", "mutate"), REFUSED, ids=lambda value: getattr(value, "__name__", value)
)
def test_ajv_and_jsonschema_both_refuse(
    published: dict[str, list[Published]], kind: str, mutate: Callable[[dict[str, Any]], None]
) -> None:
    document = published[kind][0].parsed()
    mutate(document)

    answer = run_script(
        "ajv-check.mjs",
        {
            "schemas": {kind: schema_of(kind)},
            "cases": [{"schema": kind, "text": json.dumps(document)}],
        },
    )

    assert answer["verdicts"][0]["valid"] is False
    assert validator(kind, "exact").is_valid(document) is False


@pytest.mark.parametrize(
    ("kind", "mutate"),
    [(DOCUMENT, timestamp_with_a_line_break), (FLEET, version_with_a_line_break)],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_the_one_known_difference_a_final_line_break_under_python(
    published: dict[str, list[Published]], kind: str, mutate: Callable[[dict[str, Any]], None]
) -> None:
    """Python's `$` matches before a final "\n": a Python validator given the schema as
    published accepts such a string, which ajv (and RE2) refuse (README, the consumer
    table)."""
    document = published[kind][0].parsed()
    mutate(document)

    assert validator(kind, "published").is_valid(document) is True
    assert validator(kind, "exact").is_valid(document) is False


def test_the_documents_cover_what_each_schema_allows(published: dict[str, list[Published]]) -> None:
    """The corpus is not thin: the branches of each schema a consumer meets are there."""
    records = [document.parsed() for document in published[TRANSITION]]
    job_changes = [
        (change["from"], change["to"])
        for record in records
        for change in record["changes"]
        if change["scope"] == "job"
    ]
    fleets = [document.parsed() for document in published["fleet.v1.schema.json"]]
    documents = [document.parsed() for document in published["status-document.v1.schema.json"]]
    pages = [
        document.parsed()
        for kind in ("history-page.v1.schema.json", "transitions-page.v1.schema.json")
        for document in published[kind]
    ]

    assert {record["schema_version"] for record in records} == {"1.0", "1.1"}
    assert any(to is None for _, to in job_changes)
    assert any(start is None for start, _ in job_changes)
    assert any(row["error"] is not None for fleet in fleets for row in fleet["jobs"])
    assert any(fleet["failing"] for fleet in fleets)
    assert any(fleet["next_cursor"] is not None for fleet in fleets)
    assert any(document.get("stale") is True for document in documents)
    assert any(not document["validation"]["valid"] for document in documents)
    assert any(
        page.get("has_more") or page.get("next_cursor")
        for page in pages
        if page["kind"] == "history"
    )
    assert any(page["records"] for page in pages if page["kind"] == "transitions")
    drift = [document.parsed() for document in published["drift-report.v1.schema.json"]]
    assert any(report["unknown_fields"] and report["statuses"] for report in drift)
