"""The hot-path validator: the spec's own schemas, each compiled once with jsonschema-rs.

openapi.yaml stays the one source of truth: nothing here restates a schema. Each
(status, media type) pair's schemas are taken from the packaged spec and compiled at
the first answer that has them, then kept: not at start, where every init would pay
for them, the pairs no answer has included (the 200's took about 1 ms on a development
machine). A response is checked the way openapi-core checks it (response lookup by
exact status, range, default; media type; body; declared headers). openapi-core
remains the reference: a differential test (every fixture plus generated bodies)
requires both to give the same verdict at the same paths.

Why not openapi-core here: importing it costs about 230 ms of cold start and its
`validate_response` about 5 ms for 50 nodes and 80 ms for 1,000; this costs well
under a millisecond for 1,000 nodes.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import jsonschema_rs

from dlf_status.domain import paths
from dlf_status.domain.contract import (
    MAX_LISTED,
    MAX_MESSAGE_LENGTH,
    NOT_JSON,
    Contract,
    JsonObject,
    ValidationReport,
    Violation,
    not_json_violation,
)
from dlf_status.domain.model import UpstreamResponse

_JSON_MEDIA = "json"


# jsonschema-rs writes this in its messages where it would quote the value (`mask`):
# a value of megabytes, quoted in full by each of its errors (and again by each branch
# of an `anyOf`), took 150 MB for one field. The value is quoted by `_shown` instead,
# at most as much of it as a message keeps. A NUL is never part of a message otherwise.
_MASK = "\x00"


def _compile(schema: JsonObject, components: JsonObject) -> jsonschema_rs.Validator:
    """A validator for `schema`, with the spec's components as the resolution root."""
    return jsonschema_rs.Draft202012Validator(
        {"allOf": [dict(schema)], "components": dict(components)}, mask=_MASK
    )


def _pieces(value: Any, limit: int) -> Iterator[str]:
    """Compact JSON of `value` with sorted keys, a piece at a time, every string cut
    to `limit` characters: exact as far as a consumer of `limit` characters reads."""
    if isinstance(value, dict):
        yield "{"
        for index, key in enumerate(sorted(value)):
            yield ("," if index else "") + json.dumps(key[:limit], ensure_ascii=False) + ":"
            yield from _pieces(value[key], limit)
        yield "}"
    elif isinstance(value, list):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _pieces(item, limit)
        yield "]"
    elif isinstance(value, str):
        yield json.dumps(value[:limit], ensure_ascii=False)
    else:
        yield json.dumps(value)


def _shown(value: Any, limit: int = MAX_MESSAGE_LENGTH) -> str:
    """The value as a message quotes it (compact JSON), its first `limit` characters
    exact: rendered no further than that, whatever the value's size."""
    pieces: list[str] = []
    size = 0
    for piece in _pieces(value, limit):
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            break
    return "".join(pieces)


def _message(error: jsonschema_rs.ValidationError) -> str:
    message = error.message
    return message.replace(_MASK, _shown(error.instance)) if _MASK in message else message


def _media_matches(declared: str, actual: str) -> bool:
    """openapi-core's rule: exact, or a wildcard type/subtype."""
    if declared == actual:
        return True
    declared_type, _, declared_sub = declared.partition("/")
    actual_type, _, actual_sub = actual.partition("/")
    return declared_type in ("*", actual_type) and declared_sub in ("*", actual_sub)


class _Plan(NamedTuple):
    """What checking one (status, media type) pair takes, worked out once."""

    response_key: str | None
    content: tuple[str, ...]  # the media types the response declares
    media: str | None  # the declared media type that matches, if any
    body: jsonschema_rs.Validator | None
    body_schema: JsonObject | None
    headers: tuple[tuple[str, bool, jsonschema_rs.Validator | None], ...]  # name, required, schema
    # Top-level arrays described by `items` alone: the errors of their first k elements
    # are all the errors those elements have, so they can be read a prefix at a time.
    prefixable: tuple[str, ...] = ()


# The first prefix read for errors; each next one is four times longer.
_FIRST_PREFIX = 64
_ITEMS_ONLY = frozenset({"type", "items", "description", "title"})
_CACHED_MEDIA_TYPE_LENGTH = 64


def _is_items_only_array(schema: JsonObject) -> bool:
    """An array described by `items` alone, perhaps also allowed to be null (`type:
    [array, null]`, as optional upstream fields are): a prefix of such an array has
    exactly the errors of its elements. Checked on the schema, so that a nullable
    array is not silently read whole (it was, once nulls became absence: the node
    list of a 5,000-node answer wrong in every field then took 245 MB)."""
    kinds = schema.get("type")
    allowed = {kinds} if isinstance(kinds, str) else set(kinds or ())
    return "array" in allowed and allowed <= {"array", "null"} and set(schema) <= _ITEMS_ONLY


def _errors(plan: _Plan, instance: Any) -> list[jsonschema_rs.ValidationError]:
    """Enough errors to list MAX_LISTED and say there are more, without all of them.

    jsonschema-rs builds every error before returning the first: ten thousand nodes
    wrong in every field took 2 s and 330 MB. Long arrays that are described by
    `items` alone are read a growing prefix at a time, which finds exactly the
    errors of the elements it holds, until there are enough or the prefix is whole.
    """
    assert plan.body is not None
    long = [
        key
        for key in plan.prefixable
        if isinstance(instance, dict)
        and isinstance(instance.get(key), list)
        and len(instance[key]) > _FIRST_PREFIX
    ]
    prefix = _FIRST_PREFIX
    while long:
        cut = {**instance, **{key: instance[key][:prefix] for key in long}}
        errors = list(itertools.islice(plan.body.iter_errors(cut), MAX_LISTED + 1))
        if len(errors) > MAX_LISTED:
            return errors
        long = [key for key in long if len(instance[key]) > prefix]
        prefix *= 4
    return list(plan.body.iter_errors(instance))


class CompiledValidator:
    """`ResponseValidator` over jsonschema-rs for the contract's operation (one instance
    per operation: `CompiledValidator(packaged_contract(LIST_JOBS))` for the job list)."""

    def __init__(self, contract: Contract) -> None:
        self._contract = contract
        self._components: JsonObject = contract.spec.get("components", {})
        self._responses: JsonObject = contract.operation["responses"]

    def _plan(self, status: int, mimetype: str) -> _Plan:
        """The plan for an answer's status and media type. Both are the upstream's:
        the plans are cached by what the spec declares for them, and the lookup by
        (status, media type) only for short media types, so that no upstream text of
        any length (a content type of 64 KB, sent anew each time) is ever kept."""
        if len(mimetype) <= _CACHED_MEDIA_TYPE_LENGTH:
            return self._plan_cached(status, mimetype)
        return self._find_plan(status, mimetype)

    # One instance per process; at most 64 entries of at most 64 characters.
    @functools.lru_cache(maxsize=64)  # noqa: B019
    def _plan_cached(self, status: int, mimetype: str) -> _Plan:
        return self._find_plan(status, mimetype)

    def _find_plan(self, status: int, mimetype: str) -> _Plan:
        key = next(
            (k for k in (str(status), f"{str(status)[0]}XX", "default") if k in self._responses),
            None,
        )
        if key is None:
            return _Plan(None, (), None, None, None, ())
        content: JsonObject = self._contract.resolve(self._responses[key]).get("content", {})
        media = next((m for m in content if _media_matches(m, mimetype)), None)
        return self._compiled_plan(key, media)

    # One instance per process; keyed by the spec's own strings, so bounded by the spec.
    @functools.lru_cache(maxsize=64)  # noqa: B019
    def _compiled_plan(self, key: str, media: str | None) -> _Plan:
        declared = self._contract.resolve(self._responses[key])
        content: JsonObject = declared.get("content", {})
        schema = None if media is None else content[media].get("schema")
        headers = []
        for name, header in declared.get("headers", {}).items():
            if name.lower() == "content-type":
                continue
            header = self._contract.resolve(header)
            header_schema = header.get("schema")
            compiled = None if header_schema is None else _compile(header_schema, self._components)
            headers.append((str(name), bool(header.get("required", False)), compiled))
        return _Plan(
            response_key=key,
            content=tuple(content),
            media=media,
            body=None if schema is None else _compile(schema, self._components),
            body_schema=schema,
            headers=tuple(headers),
            prefixable=() if schema is None else self._prefixable(schema),
        )

    def _prefixable(self, schema: JsonObject) -> tuple[str, ...]:
        properties: JsonObject = self._contract.resolve(schema).get("properties", {})
        return tuple(
            str(name)
            for name, declared in properties.items()
            if _is_items_only_array(self._contract.resolve(declared))
        )

    def validate(self, response: UpstreamResponse, body: Any) -> ValidationReport:
        plan = self._plan(response.status, response.mimetype)
        if plan.response_key is None:
            violation = Violation.of(
                paths.STATUS_CODE_PATH, f"no response for status {response.status}"
            )
            return ValidationReport(violations=(violation,))
        violations = self._body_violations(plan, response, body)
        violations += self._header_violations(plan, response.headers)
        return ValidationReport(
            violations=tuple(sorted(set(violations))) if violations else (),
            unknown_fields=self._contract.unknown_fields(plan.body_schema, body),
        )

    @staticmethod
    def _body_violations(plan: _Plan, response: UpstreamResponse, body: Any) -> list[Violation]:
        if not plan.content:
            return []
        # openapi-core's order: an empty body is reported before the media type.
        if not response.body:
            return [Violation.of(paths.ROOT, "the response has no body")]
        if plan.media is None:
            return [
                Violation.of(
                    paths.header_path("Content-Type"),
                    f"Content for the following mimetype not found: {response.mimetype}. "
                    f"Valid mimetypes: {sorted(plan.content)}",
                )
            ]
        instance = body
        if _JSON_MEDIA not in plan.media:
            instance = response.body.decode("utf-8", errors="replace")
        elif body is NOT_JSON:
            refused = not_json_violation(response.body)
            return [refused or Violation.of(paths.ROOT, "the body is not valid JSON")]
        if plan.body is None or plan.body.is_valid(instance):
            return []
        errors = itertools.islice(_errors(plan, instance), MAX_LISTED + 1)
        return [Violation.of(paths.join(error.instance_path), _message(error)) for error in errors]

    @staticmethod
    def _header_violations(plan: _Plan, headers: Mapping[str, str]) -> list[Violation]:
        found: list[Violation] = []
        for name, required, validator in plan.headers:
            value = headers.get(name)
            if value is None:
                if required:
                    found.append(
                        Violation.of(paths.header_path(name), f"missing required header {name}")
                    )
                continue
            if validator is not None and not validator.is_valid(value):
                found.extend(
                    Violation.of(paths.header_path(name), _message(error))
                    for error in validator.iter_errors(value)
                )
        return found
