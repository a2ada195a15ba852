"""The published schemas keep the versioning rule's promise (a reader of 1.N reads every
later 1.x): every object a later minor may extend is open, only the maps keyed by the
statuses are closed, and the statuses are one closed list. And the strict form our own
suites validate against (tests/support/schemas.py) closes what the published form opens,
through every way 2020-12 composes a schema."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.support.schemas import SCHEMAS, published_schema, strict_form

FILES = sorted(path.name for path in SCHEMAS.glob("*.schema.json"))
STATUSES = ["STARTING", "NORMAL", "EXCEPTION", "STOPPING", "STOPPED", "UNKNOWN"]


def subschemas(value: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        yield where, value
        for key, child in value.items():
            yield from subschemas(child, f"{where}/{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from subschemas(child, f"{where}/{index}")


def test_there_are_eight_published_schemas() -> None:
    assert len(FILES) == 8


@pytest.mark.parametrize("schema_file", FILES)
def test_every_object_with_members_is_open_but_the_status_maps(schema_file: str) -> None:
    objects = [
        (where, schema)
        for where, schema in subschemas(published_schema(schema_file))
        if schema.get("type") == "object" and "properties" in schema
    ]
    closed = {
        where
        for where, schema in objects
        if schema.get("additionalProperties") is False
        and sorted(schema["properties"]) != sorted(STATUSES)
    }
    unmarked = {where for where, schema in objects if "additionalProperties" not in schema}

    assert objects
    assert closed == set()
    # Said, not left to a default: datamodel-code-generator makes `true` a model with
    # extra="allow" (a later member is kept); absent, pydantic drops it.
    assert unmarked == set()


@pytest.mark.parametrize("schema_file", FILES)
def test_nothing_published_is_closed_by_unevaluated_properties(schema_file: str) -> None:
    assert [
        where
        for where, schema in subschemas(published_schema(schema_file))
        if "unevaluatedProperties" in schema
    ] == []


def test_every_list_of_statuses_is_the_six() -> None:
    """Statuses are closed: a consumer may switch over them exhaustively (a new one
    is v2). The fleet's `fail_on` adds STALE, which is no status."""
    enums = {
        f"{schema_file}{where}": sorted(set(schema["enum"]) - {"STALE"})
        for schema_file in FILES
        for where, schema in subschemas(published_schema(schema_file))
        if "NORMAL" in schema.get("enum", ())
    }
    without = {"job-gone.v1.schema.json", "status-freshness.v1.schema.json"}
    assert {where.split("#")[0] for where in enums} == set(FILES) - without
    assert enums == dict.fromkeys(enums, sorted(STATUSES))


def verdicts(schema: dict[str, Any], instances: list[Any]) -> list[bool]:
    validator = Draft202012Validator(strict_form(schema))
    return [validator.is_valid(instance) for instance in instances]


def test_strict_form_sees_members_named_beside_a_reference() -> None:
    """A drift report's status finding: a `$ref` to a finding plus members of its own."""
    schema = {
        "type": "array",
        "items": {
            "$ref": "#/$defs/finding",
            "type": "object",
            "properties": {"scope": {"type": "string"}},
            "additionalProperties": True,
        },
        "$defs": {
            "finding": {
                "type": "object",
                "additionalProperties": True,
                "properties": {"value": {"type": "string"}, "job": {"type": "object"}},
            }
        },
    }

    assert verdicts(
        schema,
        [
            [{"value": "v", "scope": "job", "job": {"any": 1}}],
            [{"value": "v", "scope": "job", "stray": 1}],
        ],
    ) == [True, False]


def test_strict_form_sees_members_named_in_branches_and_keeps_conditions() -> None:
    schema = {
        "type": "object",
        "additionalProperties": True,
        "properties": {"error": {"type": ["string", "null"]}},
        "if": {"properties": {"error": {"type": "null"}}},
        "then": {"properties": {"count": {"type": "integer"}}},
        "else": {"properties": {"error": {"type": "string"}}},
    }

    assert verdicts(
        schema,
        [{"error": None, "count": 1}, {"error": "e"}, {"error": None, "count": 1, "stray": 1}],
    ) == [True, True, False]


def test_strict_form_closes_an_object_that_may_be_null_and_leaves_maps_open() -> None:
    schema = {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "row": {
                "anyOf": [
                    {
                        "type": "object",
                        "additionalProperties": True,
                        "properties": {"a": {"type": "integer"}},
                    },
                    {"type": "null"},
                ]
            },
            "extra": {"type": "object"},
            "counts": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"NORMAL": {"type": "integer"}},
            },
        },
    }

    assert verdicts(
        schema,
        [
            {"row": None, "extra": {"any": {"thing": 1}}},
            {"row": {"a": 1}, "counts": {"NORMAL": 1}},
            {"row": {"a": 1, "stray": 1}},
            {"counts": {"NORMAL": 1, "PAUSED": 0}},
            {"row": None, "stray": 1},
        ],
    ) == [True, True, False, False, False]


@pytest.mark.parametrize("schema_file", FILES)
def test_strict_form_is_a_valid_schema_and_leaves_the_published_one_alone(
    schema_file: str,
) -> None:
    published = published_schema(schema_file)
    before = copy.deepcopy(published)

    strict = strict_form(published)

    Draft202012Validator.check_schema(strict)
    assert published == before
    assert strict != published
