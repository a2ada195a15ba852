"""Copy the status document and transition record schemas into the page schemas that
hold them (schemas/history-page.v1 and transitions-page.v1), so every published schema
stands alone.

A page once referred to the other file by its `$id` (`urn:dlf-status:schema:...`).
ajv and jsonschema resolve that when given both files, but quicktype cannot resolve a
URN at all and datamodel-code-generator looks for it as a file: a consumer generating
models for a page got an error. Now the page holds the record's schema under `$defs`
(its root as `$defs/<name>`, its own definitions beside the page's), without the `$id`,
which would clash with the record's own file in a validator that loads both.

It also writes api/dlf-status.openapi.bundled.json: the HTTP API's document
(api/dlf-status.openapi.yaml) with every published schema it references inlined under
`components/schemas`. The source document refers to `../schemas/*.json`, which
validators and schemathesis resolve; client generators often do not (openapi-python-
client stops with an error on the first file reference). In the bundle each schema's
`$defs` become components of their own (`#/$defs/node` of the status document is
`#/components/schemas/StatusDocumentNode`), since a `$ref` inside an embedded schema
with its own `$id` is resolved against that `$id` by some tools and against the
OpenAPI document by others; and a page's copy of the document or record schema is a
reference to that schema's components, so that generators make one model of each,
not two of the same title (which openapi-python-client refuses).

Usage: python scripts/build_schemas.py [--check]
With --check, exit 1 when a page schema or the bundle differs from what its sources give.
Exit 1 too, with one line, when a page's own `$defs` entry and its source's share a
name but differ: the page's would otherwise vanish at the next `make schemas`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from generated import write_or_check  # scripts/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
API = ROOT / "api" / "dlf-status.openapi.yaml"
BUNDLED_API = ROOT / "api" / "dlf-status.openapi.bundled.json"
# The component that holds each published schema in the bundle (its name is the one
# generated clients give the model: keep it when renaming anything else).
COMPONENTS = {
    "status-document.v1.schema.json": "StatusDocument",
    "status-transition.v1.schema.json": "TransitionRecord",
    "fleet.v1.schema.json": "Fleet",
    "history-page.v1.schema.json": "HistoryPage",
    "transitions-page.v1.schema.json": "TransitionsPage",
}
SCHEMA_REF = "../schemas/"


class Bundle(NamedTuple):
    page: str
    source: str
    name: str  # the source's root, under the page's $defs


BUNDLES = [
    Bundle("history-page.v1.schema.json", "status-document.v1.schema.json", "status_document"),
    Bundle(
        "transitions-page.v1.schema.json", "status-transition.v1.schema.json", "status_transition"
    ),
]


class DefinitionClash(Exception):
    """A page and its source define the same `$defs` name differently."""


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return loaded


def bundled(bundle: Bundle) -> str:
    page, source = load(bundle.page), load(bundle.source)
    copied = source.get("$defs", {})
    clashes = [
        name
        for name, definition in page.get("$defs", {}).items()
        if name in copied and copied[name] != definition
    ]
    if clashes:
        raise DefinitionClash(
            f"{bundle.page} and {bundle.source} both define $defs "
            f"{', '.join(clashes)}, differently: make them equal, or rename the page's"
        )
    own = {
        name: definition
        for name, definition in page.get("$defs", {}).items()
        if name not in copied and name != bundle.name
    }
    root = {key: value for key, value in source.items() if key not in ("$schema", "$id", "$defs")}
    names = ", ".join([bundle.name, *copied])
    comment = (
        f"$defs {names}: copied from {bundle.source} ({source['$id']}) by "
        "scripts/build_schemas.py; edit that file, then run `make schemas`."
    )
    head: dict[str, Any] = {
        key: page[key] for key in ("$schema", "$id", "title", "description") if key in page
    }
    rest = {key: value for key, value in page.items() if key not in (*head, "$comment", "$defs")}
    result: dict[str, Any] = {
        **head,
        "$comment": comment,
        **rest,
        "$defs": {**own, **copied, bundle.name: root},
    }
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"


class UnbundledReference(Exception):
    """The API document references a schema file the bundle has no component name for."""


def component_of(name: str, definition: str) -> str:
    """`optional_timestamp` of StatusDocument: StatusDocumentOptionalTimestamp."""
    return name + "".join(part[:1].upper() + part[1:] for part in definition.split("_"))


def relocated(node: Any, targets: dict[str, str]) -> Any:
    """`node` with each `#/$defs/<name>` reference pointing at its component."""
    if isinstance(node, dict):
        return {
            key: (
                f"#/components/schemas/{targets[value]}"
                if key == "$ref" and value in targets
                else relocated(value, targets)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [relocated(value, targets) for value in node]
    return node


def lifted(schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every published schema the bundle holds, as components: each schema's root under
    its COMPONENTS name, each of its `$defs` beside it; a page's copies of its source's
    definitions (BUNDLES) refer to the source's components instead of repeating them."""
    sources = {bundle.page: bundle for bundle in BUNDLES}
    components: dict[str, Any] = {}
    for file_name, name in COMPONENTS.items():
        schema = schemas[file_name]
        targets: dict[str, str] = {}
        for definition in schema.get("$defs", {}):
            bundle = sources.get(file_name)
            if bundle and definition == bundle.name:
                targets[definition] = COMPONENTS[bundle.source]
            elif bundle and definition in schemas[bundle.source].get("$defs", {}):
                targets[definition] = component_of(COMPONENTS[bundle.source], definition)
            else:
                targets[definition] = component_of(name, definition)
        for definition, value in schema.get("$defs", {}).items():
            if targets[definition] == component_of(name, definition):
                components[targets[definition]] = relocated(
                    value, {f"#/$defs/{key}": target for key, target in targets.items()}
                )
        root = {
            key: value
            for key, value in schema.items()
            if key not in ("$schema", "$id", "$defs", "$comment")
        }
        root["$comment"] = f"{file_name} ({schema['$id']})"
        components[name] = relocated(
            root, {f"#/$defs/{key}": target for key, target in targets.items()}
        )
    return dict(sorted(components.items()))


def inlined(node: Any) -> Any:
    """`node` with each `../schemas/<file>` reference pointing at its component."""
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith(SCHEMA_REF):
            file_name = reference.removeprefix(SCHEMA_REF)
            if file_name not in COMPONENTS:
                raise UnbundledReference(
                    f"{API.name} references {reference}, which COMPONENTS in "
                    "scripts/build_schemas.py does not name"
                )
            return {**node, "$ref": f"#/components/schemas/{COMPONENTS[file_name]}"}
        return {key: inlined(value) for key, value in node.items()}
    if isinstance(node, list):
        return [inlined(value) for value in node]
    return node


def bundled_api(schemas: dict[str, dict[str, Any]]) -> str:
    """The API document with every published schema it references inlined."""
    document = yaml.safe_load(API.read_text(encoding="utf-8"))
    # A component of the YAML that only refers to a published file (TransitionRecord)
    # is replaced by that file's schema; any other is the YAML's own (Problem).
    published = {f"{SCHEMA_REF}{file}": name for file, name in COMPONENTS.items()}
    own = {
        name: value
        for name, value in document["components"]["schemas"].items()
        if published.get(value.get("$ref", "")) != name
    }
    clashes = sorted(set(own) & set(COMPONENTS.values()))
    if clashes:
        raise UnbundledReference(f"{API.name} defines {', '.join(clashes)} itself")
    document = inlined(document)
    document["components"]["schemas"] = {**inlined(own), **lifted(schemas)}
    result = {
        "x-generated": (
            f"made from api/{API.name} and schemas/ by scripts/build_schemas.py "
            "(`make schemas`): edit those, not this file"
        ),
        **document,
    }
    return json.dumps(result, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    failed = 0
    pages: dict[str, dict[str, Any]] = {}
    for bundle in BUNDLES:
        try:
            expected = bundled(bundle)
        except DefinitionClash as clash:
            print(f"build_schemas: {clash}", file=sys.stderr)
            return 1
        failed |= write_or_check(SCHEMAS / bundle.page, expected, argv, remedy="make schemas")
        pages[bundle.page] = json.loads(expected)
    # the pages as just built (with --check, as they should be), the others as they are
    schemas = {name: pages[name] if name in pages else load(name) for name in COMPONENTS}
    try:
        expected = bundled_api(schemas)
    except UnbundledReference as unbundled:
        print(f"build_schemas: {unbundled}", file=sys.stderr)
        return 1
    failed |= write_or_check(BUNDLED_API, expected, argv, remedy="make schemas")
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
