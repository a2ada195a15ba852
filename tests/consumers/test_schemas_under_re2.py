"""Every `pattern` of the published schemas under RE2, the engine of Go's `regexp` (so
of every Go JSON Schema library) and of re2j: it has no lookaround and no
backreference, and one pattern it cannot compile stops a Go consumer loading the schema.

Each pattern is compiled by a real RE2 (google-re2, pinned) and must mean there what
it means to our Python checks (the strict form's pattern, tests/support/schemas.py) on
every string value of every document the product publishes, on each of them with a
line break or a space after it, and on hand-picked near misses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import re2

from tests.support.published import KINDS, Published
from tests.support.schemas import exact_pattern, published_schema

NEAR_MISSES = ["", "1.", "1.0", "1.99", "2.0", "2026-11-25", "2026-11-25T08:00:00.000Z"]
NEAR_MISSES += ["0" * 64, "0" * 63, "g" * 64, "DLF.0100", "a", "\n", "x\ny"]


def patterns(schema: Any) -> Iterator[str]:
    """Every `pattern` value, and every `patternProperties` key, at any depth."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from value
            yield from patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from patterns(value)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield key
            yield from strings(child)
    elif isinstance(value, list):
        for child in value:
            yield from strings(child)


PUBLISHED_PATTERNS = sorted(
    {pattern for kind in KINDS for pattern in patterns(published_schema(kind))}
)
QUIET = re2.Options()
QUIET.log_errors = False  # a refused pattern is this test's failure, not a log line


def test_the_schemas_have_patterns() -> None:
    assert len(PUBLISHED_PATTERNS) >= 4


@pytest.mark.parametrize("pattern", PUBLISHED_PATTERNS)
def test_re2_compiles_the_pattern(pattern: str) -> None:
    try:
        re2.compile(pattern, QUIET)
    except re2.error as refused:
        pytest.fail(f"RE2 cannot compile {pattern!r}: {refused}")


@pytest.fixture(scope="module")
def samples(published: dict[str, list[Published]]) -> list[str]:
    found = {
        text
        for kind in KINDS
        for document in published[kind]
        for text in strings(document.parsed())
    }
    found.update(NEAR_MISSES)
    return sorted({variant for text in found for variant in (text, text + "\n", text + " ")})


@pytest.mark.parametrize("pattern", PUBLISHED_PATTERNS)
def test_re2_and_python_agree_on_every_sample(pattern: str, samples: list[str]) -> None:
    under_re2 = re2.compile(pattern, QUIET)
    under_python = re.compile(exact_pattern(pattern))
    verdicts = {
        sample: (under_re2.search(sample) is not None, under_python.search(sample) is not None)
        for sample in samples
    }

    disagreements = {sample: both for sample, both in verdicts.items() if both[0] != both[1]}
    assert disagreements == {}
    # Both verdicts occur: the samples reach the pattern.
    assert {by_re2 for by_re2, _ in verdicts.values()} == {True, False}
