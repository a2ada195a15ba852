"""The published schemas in two forms: as published, and strict, for our own tests.

Published (schemas/), every object a later 1.x may extend is open (`additionalProperties:
true`): a consumer who built a validator or models on 1.N reads a 1.N+1 document, which
may hold members 1.N does not name (the tolerant reader). Our own writing must not be
so lenient: a member we write that the schema does not name is a mistake (a misspelt
field, a field left out of the schema). So every test that validates what the product
writes validates it against the strict form: the same schema with every object that
names its members closed by `unevaluatedProperties: false`.

`unevaluatedProperties`, not `additionalProperties`, because it sees the members named
through `$ref`, `allOf`, `anyOf`, `oneOf` and `then`/`else` (JSON Schema 2020-12): a
drift report's status finding is a `$ref` to a finding plus two members of its own, and
`additionalProperties: false` beside that `$ref` would refuse the finding's members.
It is put only where an instance is (the root, `properties`, `items`, ...), never inside
a subschema applied in place (a `$ref` target, an `allOf` branch, `then`), where it
would not see its siblings' members; the `$defs` a `$ref` reaches are walked for the
objects inside them. Objects that name no member (`extra`: the upstream's own keys)
stay open, and objects closed on purpose (`nodes_by_status`) stay as they are.

The published patterns are in the subset of regular expressions that ECMA-262 (ajv),
RE2 (Go's `regexp`, so every Go validator) and Python's `re` share: no lookaround. In
that subset `$` differs in one place: Python's also matches before a final "\n". So
every form our Python checks use ("exact", and "strict", which is exact too) has each
`$` written `$(?!\n)`, and means what an ECMA-262 or RE2 validator reads; "published"
is the schema as a Python consumer of it reads it, "…Z\n" a valid timestamp.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
Form = Literal["strict", "exact", "published"]
Schema = dict[str, Any]

# Keywords whose subschemas describe the instance's children (each another instance).
_CHILD_MAPS = ("properties", "patternProperties")
_CHILD_SCHEMAS = ("additionalProperties", "items", "contains", "unevaluatedItems")
# Keywords whose subschemas apply to the same instance. `if` and `not` are left out:
# closing an object inside a condition or a negation would change what it tests.
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE_SCHEMAS = ("then", "else")
_DEFS = "#/$defs/"


def published_schema(schema_file: str) -> Schema:
    loaded: Schema = json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8"))
    return loaded


def strict_form(schema: Schema) -> Schema:
    """`schema` exact (below), with every object that names its members closed to any
    other member."""
    strict = exact_form(schema)
    _drop_open_markers(strict)
    _close(strict, strict.get("$defs", {}), set(), instance=True)
    return strict


def exact_form(schema: Schema) -> Schema:
    """`schema` with every pattern as an ECMA-262 or RE2 validator reads it."""
    exact = copy.deepcopy(schema)
    for subschema in [exact, *_subschemas(exact)]:
        if not isinstance(subschema, dict):
            continue
        if isinstance(subschema.get("pattern"), str):
            subschema["pattern"] = exact_pattern(subschema["pattern"])
        if isinstance(subschema.get("patternProperties"), dict):
            subschema["patternProperties"] = {
                exact_pattern(key): value for key, value in subschema["patternProperties"].items()
            }
    return exact


def exact_pattern(pattern: str) -> str:
    """`pattern` for Python's `re`, with every `$` outside a character class followed by
    `(?!\n)`: it then ends a match only at the end of the string, as `$` does in
    ECMA-262 and RE2 (Python's also matches before a final line break)."""
    written = []
    in_class = escaped = False
    for character in pattern:
        written.append(character)
        if escaped:
            escaped = False
        elif character == "\\":
            escaped = True
        elif in_class:
            in_class = character != "]"
        elif character == "[":
            in_class = True
        elif character == "$":
            written.append("(?!\\n)")
    return "".join(written)


def _subschemas(schema: Any) -> Iterator[Any]:
    if isinstance(schema, dict):
        for value in schema.values():
            yield value
            yield from _subschemas(value)
    elif isinstance(schema, list):
        for value in schema:
            yield value
            yield from _subschemas(value)


def _drop_open_markers(schema: Schema) -> None:
    """Remove `additionalProperties: true`: it marks every member as evaluated, which
    would hide an unnamed one from `unevaluatedProperties`."""
    for subschema in [schema, *_subschemas(schema)]:
        if isinstance(subschema, dict) and subschema.get("additionalProperties") is True:
            del subschema["additionalProperties"]


def _in_place(schema: Schema, defs: Schema) -> Iterator[Schema]:
    """The subschemas that apply to the same instance as `schema`, itself included."""
    yield schema
    for key in _IN_PLACE_LISTS:
        for branch in schema.get(key, ()):
            yield from _in_place(branch, defs)
    for key in _IN_PLACE_SCHEMAS:
        if isinstance(schema.get(key), dict):
            yield from _in_place(schema[key], defs)
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith(_DEFS):
        yield from _in_place(defs[reference.removeprefix(_DEFS)], defs)


def _names_members(schema: Schema, defs: Schema) -> bool:
    return any("properties" in part for part in _in_place(schema, defs))


def _close(schema: Any, defs: Schema, walked: set[str], instance: bool) -> None:
    """Close `schema` (where an instance is) if it names members, then its children."""
    if not isinstance(schema, dict):
        return
    if (
        instance
        and _names_members(schema, defs)
        and "additionalProperties" not in schema
        and "unevaluatedProperties" not in schema
    ):
        schema["unevaluatedProperties"] = False
    _close_children(schema, defs, walked)


def _close_children(schema: Schema, defs: Schema, walked: set[str]) -> None:
    """Close the children of `schema` and of every subschema applied in its place."""
    for key in _CHILD_MAPS:
        for child in schema.get(key, {}).values():
            _close(child, defs, walked, instance=True)
    for key in _CHILD_SCHEMAS:
        _close(schema.get(key), defs, walked, instance=True)
    for child in schema.get("prefixItems", ()):
        _close(child, defs, walked, instance=True)
    for key in _IN_PLACE_LISTS:
        for branch in schema.get(key, ()):
            _close_children(branch, defs, walked)
    for key in _IN_PLACE_SCHEMAS:
        if isinstance(schema.get(key), dict):
            _close_children(schema[key], defs, walked)
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith(_DEFS):
        name = reference.removeprefix(_DEFS)
        if name not in walked:
            walked.add(name)
            _close_children(defs[name], defs, walked)


def schema_of(schema_file: str, form: Form = "strict") -> Schema:
    published = published_schema(schema_file)
    if form == "strict":
        return strict_form(published)
    return exact_form(published) if form == "exact" else published


@cache
def validator(schema_file: str, form: Form = "strict") -> Draft202012Validator:
    """A validator of `schemas/<schema_file>`, strict unless asked for exact or as
    published."""
    schema = schema_of(schema_file, form)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
