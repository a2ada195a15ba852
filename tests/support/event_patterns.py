"""EventBridge's pattern matching, the part our documented rules use, for unit tests.

moto (5.x) matches patterns on nested objects but not inside arrays of objects, and
the alerting rule we document looks inside one (`detail.data.changes[].to`). This is
EventBridge's documented rule for that case: a field under an array matches when any
element's field matches; exact values and `prefix` filters only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    return all(_field_matches(expected, _values(event, key)) for key, expected in pattern.items())


def _values(node: Mapping[str, Any], key: str) -> list[Any]:
    if key not in node:
        return []
    value = node[key]
    return _flatten(value) if isinstance(value, list) else [value]


def _flatten(values: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        flat.extend(_flatten(value) if isinstance(value, list) else [value])
    return flat


def _field_matches(expected: Any, values: list[Any]) -> bool:
    if isinstance(expected, Mapping):
        return any(isinstance(value, Mapping) and matches(expected, value) for value in values)
    return any(
        _filter_matches(condition, value)
        for condition in expected
        for value in values
        if not isinstance(value, Mapping)
    )


def _filter_matches(condition: Any, value: Any) -> bool:
    if isinstance(condition, Mapping):
        [(name, argument)] = condition.items()
        if name != "prefix":
            raise NotImplementedError(name)
        return isinstance(value, str) and value.startswith(argument)
    return bool(condition == value and type(condition) is type(value))
