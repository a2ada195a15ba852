"""Copy the status document and transition record schemas into the page schemas that
hold them (schemas/history-page.v1 and transitions-page.v1), so every published schema
stands alone.

A page once referred to the other file by its `$id` (`urn:dlf-status:schema:...`).
ajv and jsonschema resolve that when given both files, but quicktype cannot resolve a
URN at all and datamodel-code-generator looks for it as a file: a consumer generating
models for a page got an error. Now the page holds the record's schema under `$defs`
(its root as `$defs/<name>`, its own definitions beside the page's), without the `$id`,
which would clash with the record's own file in a validator that loads both.

Usage: python scripts/build_schemas.py [--check]
With --check, exit 1 when a page schema differs from what its sources give.
Exit 1 too, with one line, when a page's own `$defs` entry and its source's share a
name but differ: the page's would otherwise vanish at the next `make schemas`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

from generated import write_or_check  # scripts/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"


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


def main(argv: list[str]) -> int:
    failed = 0
    for bundle in BUNDLES:
        try:
            expected = bundled(bundle)
        except DefinitionClash as clash:
            print(f"build_schemas: {clash}", file=sys.stderr)
            return 1
        failed |= write_or_check(SCHEMAS / bundle.page, expected, argv, remedy="make schemas")
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
