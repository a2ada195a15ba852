"""The strict form our own suites validate against (tests/support/schemas.py) closes
what the published form opens, through every way 2020-12 composes a schema."""

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
