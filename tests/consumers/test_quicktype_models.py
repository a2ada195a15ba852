"""Every published schema through quicktype, as a TypeScript consumer uses it: models
with runtime type checks generated from each schema, compiled by tsc in strict mode,
and every document the product publishes parsed by the generated converter
(`Convert.toStatusDocument(json)` and so on) under node.

JavaScript numbers are doubles: an integer past 2^53 parses to the nearest double,
silently. The README (counters) tells consumers so; here the values that change are
exactly those a double cannot hold, and every integer still reads as an integer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from tests.consumers.javascript import node, run, run_script, tool
from tests.support.published import DOCUMENT, KINDS, SCHEMAS, Published


class Generated(NamedTuple):
    modules: dict[str, dict[str, str]]  # schema file -> {"path": compiled module, "convert": name}


def type_name(schema_file: str) -> str:
    """status-document.v1.schema.json -> StatusDocument."""
    return "".join(part.capitalize() for part in schema_file.split(".")[0].split("-"))


def integers(value: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """(JSON pointer, decimal digits) of every integer in a parsed document."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield pointer, str(value)
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from integers(child, f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from integers(child, f"{pointer}/{index}")


def held_by_a_double(digits: str) -> bool:
    number = int(digits)
    return int(float(number)) == number


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """TypeScript for each schema (quicktype), compiled to JavaScript (tsc --strict)."""
    node()
    directory = tmp_path_factory.mktemp("quicktype")
    sources = []
    for kind in KINDS:
        source = directory / f"{kind.split('.')[0]}.ts"
        run(
            [
                tool("quicktype"),
                "--src-lang",
                "schema",
                "--lang",
                "typescript",
                "--runtime-typecheck",
                "--top-level",
                type_name(kind),
                "--out",
                str(source),
                str(SCHEMAS / kind),
            ]
        )
        sources.append(str(source))
    # In the output directory, so that tsc finds no type packages of ours on the way up.
    compiled = directory / "js"
    run(
        [
            tool("tsc"),
            "--strict",
            "--target",
            "es2020",
            "--module",
            "commonjs",
            "--outDir",
            str(compiled),
            *sources,
        ],
        cwd=directory,
    )
    return Generated(
        {
            kind: {
                "path": str(compiled / f"{kind.split('.')[0]}.js"),
                "convert": f"to{type_name(kind)}",
            }
            for kind in KINDS
        }
    )


class Parsed(NamedTuple):
    document: Published
    integers: list[tuple[str, str]]
    error: str | None
    not_integers: list[str]
    inexact: list[str]


@pytest.fixture(scope="module")
def parsed(generated: Generated, published: dict[str, list[Published]]) -> list[Parsed]:
    """Every published document through its generated converter, in one node run."""
    documents = [document for kind in KINDS for document in published[kind]]
    found = [list(integers(document.parsed())) for document in documents]
    cases = [
        {"schema": document.schema, "text": document.text, "integers": numbers}
        for document, numbers in zip(documents, found, strict=True)
    ]
    results = run_script("quicktype-parse.cjs", {"modules": generated.modules, "cases": cases})
    return [
        Parsed(document, numbers, result["error"], result["not_integers"], result["inexact"])
        for document, numbers, result in zip(documents, found, results, strict=True)
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_every_document_parses_through_the_generated_converter(
    parsed: list[Parsed], kind: str
) -> None:
    of_kind = [result for result in parsed if result.document.schema == kind]

    assert of_kind, kind
    assert {result.document.label: result.error for result in of_kind if result.error} == {}


@pytest.mark.parametrize("kind", KINDS)
def test_integers_stay_integers_and_change_only_past_what_a_double_holds(
    parsed: list[Parsed], kind: str
) -> None:
    for result in (result for result in parsed if result.document.schema == kind):
        beyond = [pointer for pointer, digits in result.integers if not held_by_a_double(digits)]

        assert result.not_integers == [], result.document.label
        assert result.inexact == beyond, result.document.label


def test_counters_past_2_53_reach_javascript_rounded(parsed: list[Parsed]) -> None:
    """What the README warns JavaScript consumers of, shown on the product's output."""
    counters = next(
        result
        for result in parsed
        if result.document.schema == DOCUMENT
        and result.document.label.startswith("store/latest/")
        and "big-counters" in result.document.label
    )
    metrics = "/nodes/0/metrics/"

    assert sorted(counters.inexact) == [
        f"{metrics}buffer_records",  # 10^20 + 7
        f"{metrics}total_get_bytes",  # 2^53 + 1
        f"{metrics}total_put_bytes",  # 2^64 + 1
    ]
    assert f"{metrics}total_get_records" not in counters.inexact  # 2^60: a double holds it


def test_a_converter_refuses_a_member_its_schema_does_not_name(
    generated: Generated, published: dict[str, list[Published]]
) -> None:
    """Why the README tells consumers to regenerate from each release's schemas (or to
    pass --runtime-typecheck-ignore-unknown-properties): v1 adds optional members, and
    a converter generated from an older schema refuses a document that has one."""
    document = json.loads(published[DOCUMENT][0].text)
    document["added_in_a_later_minor"] = True
    cases = [{"schema": DOCUMENT, "text": json.dumps(document), "integers": []}]

    [result] = run_script("quicktype-parse.cjs", {"modules": generated.modules, "cases": cases})

    assert result["error"] is not None
    assert "added_in_a_later_minor" in result["error"]


def test_a_converter_checks_an_integer_as_a_number_only(
    generated: Generated, published: dict[str, list[Published]]
) -> None:
    """What the README tells TypeScript consumers: the runtime check does not refuse a
    fraction where the schema says integer (ajv does: validate when that matters)."""
    document = json.loads(published[DOCUMENT][0].text)
    document["summary"]["node_count"] = 1.5
    cases = [{"schema": DOCUMENT, "text": json.dumps(document), "integers": []}]

    [result] = run_script("quicktype-parse.cjs", {"modules": generated.modules, "cases": cases})
    answer = run_script(
        "ajv-check.mjs",
        {
            "schemas": {DOCUMENT: json.loads((SCHEMAS / DOCUMENT).read_text(encoding="utf-8"))},
            "cases": [{"schema": DOCUMENT, "text": json.dumps(document)}],
        },
    )

    assert result["error"] is None
    assert answer["verdicts"][0]["valid"] is False
