"""A consumer built on 1.N reads what 1.N+1 writes, and our own writing stays strict.

* ajv (strict mode on the schema, as consumers run it) and jsonschema, given today's
  published schemas, accept every published document as a later minor version might
  write it (a new member in every object that may have one, `schema_version` 1.99),
  and still refuse real violations in it: the open schemas did not become meaningless.
  The generated models' side is in test_quicktype_models.py and test_generated_models.py.
* The strict form our own suites validate against (tests/support/schemas.py) refuses a
  stray member at every level of every kind of document where the published form
  accepts one: only the upstream's keys (`extra`) stay open in it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, NamedTuple

import pytest

from tests.consumers.evolution import (
    FUTURE_MEMBER,
    FUTURE_VALUE,
    FUTURE_VERSION,
    a_later_minor,
    at,
    in_upstream_keys,
    is_status_map,
    objects,
    shape,
    violations,
)
from tests.consumers.javascript import run_script
from tests.support.published import (
    DOCUMENT,
    DRIFT,
    FLEET,
    FRESHNESS,
    GONE,
    HISTORY,
    KINDS,
    TRANSITION,
    TRANSITIONS,
    Published,
)
from tests.support.schemas import published_schema, validator


def largest(documents: list[Published]) -> Published:
    return max(documents, key=lambda document: len(document.text))


class Verdicts(NamedTuple):
    later: list[tuple[str, str, dict[str, Any]]]  # (kind, label, ajv's verdict)
    violations: list[tuple[str, str, Any, dict[str, Any]]]  # (kind, label, document, verdict)


@pytest.fixture(scope="module")
def ajv_verdicts(published: dict[str, list[Published]]) -> Verdicts:
    """One node run: every later-minor document, and the violations of one per kind."""
    later = [
        (kind, document.label, a_later_minor(document.parsed()))
        for kind in KINDS
        for document in published[kind]
    ]
    wrong = [
        (kind, violation.label, violation.document)
        for kind in KINDS
        for violation in violations(
            a_later_minor(largest(published[kind]).parsed()), published_schema(kind)
        )
    ]
    cases = [
        {"schema": kind, "text": json.dumps(document)} for kind, _, document in [*later, *wrong]
    ]
    answer = run_script(
        "ajv-check.mjs",
        {"schemas": {kind: published_schema(kind) for kind in KINDS}, "cases": cases},
    )
    verdicts = answer["verdicts"]
    return Verdicts(
        [
            (kind, label, verdict)
            for (kind, label, _), verdict in zip(later, verdicts[: len(later)], strict=True)
        ],
        [
            (kind, label, document, verdict)
            for (kind, label, document), verdict in zip(wrong, verdicts[len(later) :], strict=True)
        ],
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_later_minor_is_valid_under_ajv_and_jsonschema_with_todays_schemas(
    ajv_verdicts: Verdicts, published: dict[str, list[Published]], kind: str
) -> None:
    later = [(label, verdict) for of_kind, label, verdict in ajv_verdicts.later if of_kind == kind]
    documents = [a_later_minor(document.parsed()) for document in published[kind]]

    assert later, kind
    assert {label: verdict["errors"] for label, verdict in later if not verdict["valid"]} == {}
    refused = [
        document for document in documents if not validator(kind, "published").is_valid(document)
    ]
    assert refused == []
    # What was checked is a later minor: its version, and a member 1.x does not name.
    assert all(document["schema_version"] == FUTURE_VERSION for document in documents)
    assert all(document[FUTURE_MEMBER] == FUTURE_VALUE for document in documents)


@pytest.mark.parametrize("kind", KINDS)
def test_ajv_and_jsonschema_still_refuse_real_violations_in_a_later_minor(
    ajv_verdicts: Verdicts, kind: str
) -> None:
    wrong = [(label, document, v) for k, label, document, v in ajv_verdicts.violations if k == kind]

    assert len(wrong) == 3, kind  # a member missing, a wrong type at the top and deep down
    assert {label: verdict["valid"] for label, _, verdict in wrong} == {
        label: False for label, _, _ in wrong
    }
    assert {
        label: validator(kind, "published").is_valid(document) for label, document, _ in wrong
    } == {label: False for label, _, _ in wrong}


DOCUMENT_LEVELS = ["/job", "/nodes/*", "/nodes/*/metrics", "/source", "/summary", "/validation"]
# The levels of object each kind has (those the corpus reaches), the top one included.
LEVELS = {
    DOCUMENT: {"/", *DOCUMENT_LEVELS, "/validation/violations/*"},
    GONE: {"/", "/reason", "/source"},
    TRANSITION: {"/", "/changes/*", "/source"},
    FRESHNESS: {"/", "/jobs/*"},
    FLEET: {"/", "/jobs/*", "/summary"},
    HISTORY: {"/", "/documents/*", *(f"/documents/*{level}" for level in DOCUMENT_LEVELS)},
    TRANSITIONS: {"/", "/records/*", "/records/*/changes/*", "/records/*/source"},
    DRIFT: {"/", "/skipped", "/statuses/*", "/statuses/*/example_job", "/unknown_fields/*"},
}


def with_stray_member(document: Any, path: tuple[str | int, ...]) -> Any:
    stray = json.loads(json.dumps(document))
    at(stray, path)["stray_member"] = 1
    return stray


@pytest.mark.parametrize("kind", KINDS)
def test_the_strict_form_refuses_a_stray_member_wherever_the_published_form_takes_one(
    published: dict[str, list[Published]], kind: str
) -> None:
    """Every level of object in the kind's documents, once each (array positions as
    `*`): a stray member there passes the published schema and fails its strict form,
    but in the upstream's keys (`extra`, open in both) and in a status map (closed in
    both)."""
    first_at: dict[str, tuple[Any, tuple[str | int, ...]]] = {}
    for document in published[kind]:
        parsed = document.parsed()
        for path in objects(parsed):
            first_at.setdefault(shape(path), (parsed, path))
    verdicts: dict[str, set[str]] = defaultdict(set)
    for level, (document, path) in first_at.items():
        stray = with_stray_member(document, path)
        published_accepts = validator(kind, "published").is_valid(stray)
        strict_accepts = validator(kind).is_valid(stray)
        if in_upstream_keys(path):
            expected = "both accept"
        elif is_status_map(path):
            expected = "both refuse"
        else:
            expected = "published accepts, strict refuses"
        verdict = {
            (True, True): "both accept",
            (False, False): "both refuse",
            (True, False): "published accepts, strict refuses",
            (False, True): "published refuses, strict accepts",
        }[published_accepts, strict_accepts]
        verdicts[expected if verdict == expected else f"{expected}, but {verdict}"].add(level)

    assert sorted(verdicts) == sorted(key for key in verdicts if "but" not in key), {
        key: levels for key, levels in verdicts.items() if "but" in key
    }
    assert LEVELS[kind] <= verdicts["published accepts, strict refuses"]
