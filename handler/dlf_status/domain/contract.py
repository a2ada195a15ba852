"""The upstream contract (`openapi.yaml`) as the core sees it.

`Contract` gives read access to one operation of the spec (the status call or the
job list) and finds the fields a body carries that the contract does not declare
(drift). Validators implement the small `ResponseValidator` port, so the reference
validator (openapi-core) and a faster one can be swapped without touching the core.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol

from dlf_status.domain import jsoncodec, paths
from dlf_status.domain.model import UpstreamResponse

if TYPE_CHECKING:
    from dlf_status.domain.documents import ViolationEntry


class Operation(NamedTuple):
    """One upstream operation of the spec: its operationId, path template and method."""

    operation_id: str
    path: str
    method: str = "get"

    def example_path(self) -> str:
        """A concrete path of the operation (every parameter `x`), for a router."""
        return re.sub(r"\{[^}/]+\}", "x", self.path)


SHOW_JOB_STATUS: Final = Operation("ShowJobStatus", "/v1/{project_id}/jobs/{job_name}/status")
LIST_JOBS: Final = Operation("ListJobs", "/v1/{project_id}/jobs")
OPERATIONS: Final[Mapping[str, Operation]] = {
    operation.operation_id: operation for operation in (SHOW_JOB_STATUS, LIST_JOBS)
}

JsonObject = Mapping[str, Any]


# Validator messages quote the offending value, which can be a whole body.
MAX_MESSAGE_LENGTH = 300
# Violations (and unknown fields) one document lists (README: "Bounds on one answer");
# past it, a last violation says there were more. Validators and the normaliser stop
# collecting soon after: ten thousand nodes wrong in every field are 120,000 of them.
MAX_LISTED: Final = 1_000


class Violation(NamedTuple):
    """One way a response breaks the contract: where (JSONPath) and why."""

    path: str
    message: str

    @classmethod
    def of(cls, path: str, message: str) -> Violation:
        """A violation whose message is printable and cut to a readable length: a
        validator's message quotes the upstream's value, whatever it holds, so what is
        not printable is escaped as Python spells it (`\\n`, `\\u202e`): one line that
        still shows what was there (a pattern's `$(?!\\n)` reads as written)."""
        # Cut before anything is done per character: the message may quote eight
        # megabytes, and escaping each character of it built a string object apiece.
        longer = len(message) > MAX_MESSAGE_LENGTH
        message = message[:MAX_MESSAGE_LENGTH]
        if not message.isprintable():
            message = "".join(char if char.isprintable() else repr(char)[1:-1] for char in message)
            longer = longer or len(message) > MAX_MESSAGE_LENGTH
        if longer:
            message = message[: MAX_MESSAGE_LENGTH - 3] + "..."
        return cls(path, message)

    def as_json(self) -> ViolationEntry:
        return {"path": self.path, "message": self.message}


class ViolationList(list[Violation]):
    """Keeps the first `limit` violations appended and drops the rest: one more than a
    document lists is enough to say that there were more."""

    def __init__(self, limit: int = MAX_LISTED + 1) -> None:
        super().__init__()
        self.limit = limit

    def append(self, violation: Violation) -> None:
        if len(self) < self.limit:
            super().append(violation)


class ValidationReport(NamedTuple):
    """What a validator found; `valid` is derived, never stored separately."""

    violations: tuple[Violation, ...] = ()
    unknown_fields: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.violations


class NotJson(enum.Enum):
    """The one value that says "this body is not JSON" to a validator. Not None:
    a body that is literally `null` is JSON, and is checked as JSON."""

    NOT_JSON = "not JSON"


NOT_JSON: Final = NotJson.NOT_JSON


def parsed_or_not_json(body: bytes) -> Any:
    """The JSON value of `body` (None for `null`), or NOT_JSON: what `validate` takes."""
    try:
        return jsoncodec.loads(body)
    except jsoncodec.JsonDecodeError:
        return NOT_JSON


def not_json_violation(body: bytes) -> Violation | None:
    """Why a body that is no JSON value we accept is refused, as the hot path says it:
    an object that repeats a member is named at its place (valid JSON, but one of the
    values would be lost), a bound passed or the parser's reason at the root. None
    when `body` is one."""
    try:
        jsoncodec.loads(body)
    except jsoncodec.JsonRepeatedName as exc:
        return Violation.of(exc.path, f"{exc}: one of its values would be lost")
    except jsoncodec.JsonLimitExceeded as exc:
        return Violation.of(paths.ROOT, f"the body is past the bounds on one answer: {exc}")
    except jsoncodec.JsonDecodeError as exc:
        return Violation.of(paths.ROOT, f"the body is not valid JSON: {exc}")
    return None


class ResponseValidator(Protocol):
    """The validation port: a whole upstream response in, a report out.

    `body` is the already parsed JSON body (None for a body that is `null`), or
    NOT_JSON when it is not JSON, so a validator need not parse again; one that
    prefers the raw bytes may ignore it.
    """

    def validate(self, response: UpstreamResponse, body: Any) -> ValidationReport: ...


class _Shape(NamedTuple):
    """The declared structure of a schema: property names and item shape.

    `nested` holds the declared properties that have structure of their own, so
    the walk only descends where an unknown key could hide.
    """

    properties: Mapping[str, _Shape] | None
    items: _Shape | None
    nested: Mapping[str, _Shape] = {}

    @property
    def opaque(self) -> bool:
        return self.properties is None and self.items is None


_OPAQUE = _Shape(properties=None, items=None)


class Contract:
    """The loaded spec, seen through one of its operations, plus what is derived
    from it once."""

    def __init__(
        self,
        spec: JsonObject,
        operation: Operation = SHOW_JOB_STATUS,
        *,
        _shapes: dict[str, _Shape] | None = None,
    ) -> None:
        self.spec = spec
        self.target = operation
        self.operation: JsonObject = spec["paths"][operation.path][operation.method]
        # Keyed by $ref: the same for every operation of one spec, so shared.
        self._shapes: dict[str, _Shape] = {} if _shapes is None else _shapes

    @classmethod
    def from_bytes(cls, data: bytes) -> Contract:
        return cls(jsoncodec.loads(data))

    def for_operation(self, operation: Operation) -> Contract:
        """The same spec seen through another operation (what is derived is shared)."""
        if operation == self.target:
            return self
        return Contract(self.spec, operation, _shapes=self._shapes)

    def resolve(self, schema: JsonObject) -> JsonObject:
        """Follow `$ref`s (local ones only: the spec is one file)."""
        while "$ref" in schema:
            node: Any = self.spec
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def response_for(self, status: int) -> JsonObject:
        """The response object OpenAPI picks: exact code, then 2XX-style range, then default."""
        responses: JsonObject = self.operation["responses"]
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                return self.resolve(responses[key])
        return {}

    def body_schema(self, status: int, mimetype: str) -> JsonObject | None:
        content = self.response_for(status).get("content", {})
        media = content.get(mimetype)
        return None if media is None else media.get("schema")

    # -- drift -------------------------------------------------------------------------

    def unknown_fields(self, schema: JsonObject | None, body: Any) -> tuple[str, ...]:
        """JSONPaths of keys in `body` that `schema` does not declare, sorted.

        Array positions are written `[*]` and each path is listed once: a new field
        on a thousand nodes is one finding, and reordering nodes changes nothing.
        """
        if schema is None:
            return ()
        found: set[str] = set()
        self._walk(self._shape(schema), body, paths.ROOT, found)
        return tuple(sorted(found))

    def _walk(self, shape: _Shape, value: Any, path: str, found: set[str]) -> None:
        if isinstance(value, dict) and shape.properties is not None:
            for key in value.keys() - shape.properties.keys():
                found.add(paths.child(path, key))
            for key, declared in shape.nested.items():
                if key in value:
                    self._walk(declared, value[key], paths.child(path, key), found)
        elif isinstance(value, list) and shape.items is not None and not shape.items.opaque:
            items, item_path = shape.items, paths.any_item(path)
            objects = [item for item in value if isinstance(item, dict)]
            if items.properties is not None and objects:
                # Every key of every element at once: one set, not one per element.
                for key in set().union(*objects) - items.properties.keys():
                    found.add(paths.child(item_path, key))
                for key, declared in items.nested.items():
                    for item in objects:
                        if key in item:
                            self._walk(declared, item[key], paths.child(item_path, key), found)
            if items.items is not None:
                for item in value:
                    if isinstance(item, list):
                        self._walk(items, item, item_path, found)

    def _shape(self, schema: JsonObject) -> _Shape:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            cached = self._shapes.get(ref)
            if cached is None:
                cached = self._shapes[ref] = self._shape(self.resolve(schema))
            return cached
        properties: dict[str, _Shape] | None = None
        items: _Shape | None = None
        branches = [schema, *schema.get("anyOf", ()), *schema.get("oneOf", ())]
        branches += list(schema.get("allOf", ()))
        for branch in branches:
            branch = self.resolve(branch)
            if "properties" in branch:
                properties = properties or {}
                for name, sub in branch["properties"].items():
                    properties.setdefault(name, self._shape(sub))
            if "items" in branch and items is None:
                items = self._shape(branch["items"])
        if properties is None and items is None:
            return _OPAQUE
        nested = {name: sub for name, sub in (properties or {}).items() if not sub.opaque}
        return _Shape(properties=properties, items=items, nested=nested)


@functools.cache
def _packaged_contract(operation: Operation) -> Contract:
    if operation == SHOW_JOB_STATUS:
        data = resources.files("dlf_status.spec").joinpath("openapi.json").read_bytes()
        return Contract.from_bytes(data)
    return _packaged_contract(SHOW_JOB_STATUS).for_operation(operation)


def packaged_contract(operation: Operation = SHOW_JOB_STATUS) -> Contract:
    """The spec shipped with the package, loaded once per process, seen through
    `operation` (the status call unless told otherwise)."""
    return _packaged_contract(operation)
