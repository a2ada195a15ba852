"""What a later minor version may write, for the consumer suites to read with what
consumers built from today's schemas (the tolerant-reader promise of the README's
versioning rule), and the real violations those readers must still refuse.

A later 1.x may add a member to any object of ours, except the objects whose keys
are the statuses (`nodes_by_status`, `jobs_by_status`: closed with the statuses) and
inside `extra`, whose keys are the upstream's own (open already, so nothing to prove).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, NamedTuple

FUTURE_VERSION = "1.99"
FUTURE_MEMBER = "added_in_1_99"
# A member of any shape: a later minor's field need not be a scalar.
FUTURE_VALUE: dict[str, Any] = {"nested": [1, "two", None, True, {"deeper": 2.5}]}
STATUS_MAPS = frozenset({"nodes_by_status", "jobs_by_status"})
UPSTREAM_KEYS = "extra"

Path = tuple[str | int, ...]


def objects(value: Any, path: Path = ()) -> Iterator[Path]:
    """The path of every object in `value`, outermost first."""
    if isinstance(value, dict):
        yield path
        for key, child in value.items():
            yield from objects(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from objects(child, (*path, index))


def in_upstream_keys(path: Path) -> bool:
    return UPSTREAM_KEYS in path


def is_status_map(path: Path) -> bool:
    return bool(path) and path[-1] in STATUS_MAPS


def extensible(document: Any) -> list[Path]:
    """The objects a later minor version may add a member to."""
    return [
        path for path in objects(document) if not in_upstream_keys(path) and not is_status_map(path)
    ]


def at(document: Any, path: Path) -> Any:
    for step in path:
        document = document[step]
    return document


def shape(path: Path) -> str:
    """`path` with array positions as `*`: one name for the same level in every entry."""
    return "/" + "/".join("*" if isinstance(step, int) else str(step) for step in path)


def a_later_minor(document: Any) -> Any:
    """`document` as a 1.99 writer might write it: a new member in every object that
    may have one, and every `schema_version` (pages hold documents that have their
    own) saying 1.99."""
    later = copy.deepcopy(document)
    for path in extensible(later):
        level = at(later, path)
        if "schema_version" in level:
            level["schema_version"] = FUTURE_VERSION
        level[FUTURE_MEMBER] = copy.deepcopy(FUTURE_VALUE)
    return later


class Violation(NamedTuple):
    label: str
    document: Any


def violations(document: Any, schema: dict[str, Any]) -> list[Violation]:
    """Real violations of `schema` in a later minor's `document`: a required member
    missing, and a member of the wrong type at the top and at the deepest level of
    ours that has a string member."""
    missing = copy.deepcopy(document)
    required = schema["required"][0]
    del missing[required]
    version = copy.deepcopy(document)
    version["schema_version"] = 1.99
    found = [
        Violation(f"no {required}", missing),
        Violation("schema_version a number", version),
    ]
    deepest = [
        (path, key)
        for path in extensible(document)
        for key, value in at(document, path).items()
        if isinstance(value, str) and key != "schema_version"
    ]
    if deepest:
        path, key = max(deepest, key=lambda found: len(found[0]))
        wrong = copy.deepcopy(document)
        at(wrong, path)[key] = 7
        found.append(Violation(f"{shape((*path, key))} a number", wrong))
    return found
