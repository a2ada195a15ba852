"""Job lists from local files: every hostile list is a precise InvalidInput, within
documented limits, and whatever a loader returns the tick can take."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status import bootstrap
from dlf_status.adapters.job_list import (
    MAX_JOB_LIST_BYTES,
    MAX_JOB_LIST_DEPTH,
    MAX_JOB_LIST_VALUES,
    MAX_YAML_NUMBER_CHARS,
    read_job_list,
)
from dlf_status.domain.ticks import job_entries
from dlf_status.entrypoints import schedule
from dlf_status.errors import InvalidInput, TickFailed
from tests.hostile.hostile_json import Repeated, repeated_names
from tests.support.events import scheduled_event
from tests.support.fakes import FakeUpstream
from tests.support.root import fake_service, root_settings

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
# Three nested aliases: 9**3 strings from a few bytes; the real bombs go to 9**9.
ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
)


def write(directory: Path, name: str, content: str | bytes) -> str:
    path = directory / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


def refused(path: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        read_job_list(path)
    detail = caught.value.detail
    assert detail.isprintable()
    assert "the job list" in detail
    return detail


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bomb.yaml", ALIAS_BOMB, "uses a YAML alias (*a) (line 2): aliases are not accepted"),
        ("one-alias.yaml", "- &j {job_name: a}\n- *j\n", "uses a YAML alias (*j)"),
        ("merge-alias.yaml", "- &b {project_id: p}\n- {<<: *b, job_name: a}\n", "alias (*b)"),
        ("deep.yaml", "[" * 5000 + "]" * 5000, "not valid YAML (line 1): exceeded maximum"),
        ("deep.json", "[" * 5000 + "]" * 5000, "not valid JSON: depth limit exceeded"),
        ("deep-100.json", "[" * 100 + "]" * 100, f"nested deeper than {MAX_JOB_LIST_DEPTH}"),
        ("deep-100.yaml", "[" * 100 + "]" * 100, f"nested deeper than {MAX_JOB_LIST_DEPTH}"),
        (
            "deep-block.yaml",
            "".join("  " * level + "-\n" for level in range(200)),
            f"nested deeper than {MAX_JOB_LIST_DEPTH} levels (line 33)",
        ),
        ("bigint.json", "[" + "9" * 5000 + "]", "not valid JSON: number is infinity"),
        ("bigfloat.json", "[1e400]", "not valid JSON: number is infinity"),
        ("bigint.yaml", "- " + "9" * 5000 + "\n", "a number written with more than 320"),
        ("sexagesimal.yaml", "- " + ":".join(["59"] * 200) + "\n", "more than 320 characters"),
        ("hexint.yaml", "- 0x" + "f" * 400 + "\n", "more than 320 characters"),
        ("date.yaml", "- 2024-13-45\n", "cannot be read as tag:yaml.org,2002:timestamp"),
        ("badint.yaml", "- !!int abc\n", "cannot be read as tag:yaml.org,2002:int (ValueError)"),
        ("badbool.yaml", "- !!bool maybe\n", "cannot be read as tag:yaml.org,2002:bool"),
        ("badtime.yaml", "- !!timestamp later\n", "cannot be read as tag:yaml.org,2002:time"),
        ("python.yaml", "- !!python/object/apply:os.system [id]\n", "not valid YAML (line 1)"),
        ("custom-tag.yaml", "- !hunter2 x\n", "not valid YAML (line 1)"),
        ("unhashable.yaml", "? [a]\n: b\n", "not valid YAML (line 1): found unhashable key"),
        ("two-documents.yaml", "- a\n---\n- b\n", "(line 2): but found another document"),
        ("nul.yaml", "- a\x00b\n", "not valid YAML: control characters are not allowed"),
        ("latin1.yaml", b"- caf\xe9\n", "not valid YAML: incomplete UTF-8 octet sequence"),
        ("latin1.json", b'["caf\xe9"]', "not valid JSON: str is not valid UTF-8"),
        ("nul.json", b'["a\x00b"]', "not valid JSON: unexpected control character"),
        ("surrogate.json", '["\\ud800"]', "not valid JSON: no low surrogate"),
        ("surrogate.yaml", '- "\\ud800"\n', "found invalid Unicode character escape"),
        ("bom.json", b"\xef\xbb\xbf[]", "not valid JSON: UTF-8 byte order mark"),
        ("empty.json", "", "not valid JSON: Input is a zero-length"),
        ("broken.json", "{not json", "not valid JSON"),
        ("unclosed.yaml", "jobs: [unclosed\nsecret: hunter2", "not valid YAML (line 2)"),
        (
            "repeat.json",
            '{"jobs":[{"project_id":"p","job_name":"hunter2","job_name":"b"}]}',
            'repeats the key "job_name" in one object (at $.jobs[0])',
        ),
        ("repeat-top.json", '{"jobs":[],"jobs":[]}', 'repeats the key "jobs" in one object (at $)'),
        ("escaped.json", '{"jobs":[],"j\\u006fbs":[]}', 'repeats the key "jobs"'),
        ("empty-key.json", '[{"":1,"":2}]', "repeats the key the empty key"),
        ("repeat.yaml", "- project_id: p\n  job_name: a\n  job_name: b\n", '"job_name" in'),
        ("quoted.yaml", 'jobs: []\n"jobs": []\n', 'repeats the key "jobs" in one mapping (line 2)'),
        ("number.yaml", "- {1: a, 0x1: b}\n", 'repeats the key "1" in one mapping (line 1)'),
        ("bool.yaml", "- {yes: a, true: b}\n", 'repeats the key "True"'),
        ("flow.yaml", '{"jobs":[{"a":{"k":1,"k":2}}]}', 'repeats the key "k" in one mapping'),
    ],
)
def test_a_hostile_job_list_is_a_precise_invalid_input(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    detail = refused(write(tmp_path, name, content))

    assert message in detail
    assert "hunter2" not in detail


def test_a_list_one_byte_over_the_size_limit_is_refused_and_one_at_it_is_read(
    tmp_path: Path,
) -> None:
    body = json.dumps([{"project_id": PROJECT, "job_name": "a"}]).encode()
    exact = body + b" " * (MAX_JOB_LIST_BYTES - len(body))

    assert read_job_list(write(tmp_path, "exact.json", exact)) == json.loads(body)
    assert "is larger than 1,048,576 bytes" in refused(write(tmp_path, "over.json", exact + b" "))


def test_a_600_mb_list_is_refused_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(600 << 20)  # sparse: no disk, but 600 MB to whoever reads it

    assert "is larger than" in refused(str(path))


@pytest.mark.parametrize("special", ["fifo", "directory", "/dev/zero"])
def test_a_path_that_is_not_a_regular_file_is_refused_without_blocking(
    tmp_path: Path, special: str
) -> None:
    path = tmp_path / "jobs.json"
    if special == "fifo":
        os.mkfifo(path)  # nobody writes to it: a plain open would wait for ever
    elif special == "directory":
        path.mkdir()
    else:
        path = Path(special)

    assert "is not a regular file" in refused(str(path))


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_the_value_limit_is_exact(tmp_path: Path, suffix: str) -> None:
    # a list of N - 1 empty strings is N values
    at_limit = [""] * (MAX_JOB_LIST_VALUES - 1)
    text = json.dumps(at_limit)  # JSON is YAML

    assert read_job_list(write(tmp_path, f"at.{suffix}", text)) == at_limit
    over = json.dumps([*at_limit, ""])
    assert "holds more than 100,000 values" in refused(write(tmp_path, f"over.{suffix}", over))


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_the_depth_limit_is_exact(tmp_path: Path, suffix: str) -> None:
    deepest = "[" * MAX_JOB_LIST_DEPTH + "]" * MAX_JOB_LIST_DEPTH

    assert read_job_list(write(tmp_path, f"at.{suffix}", deepest)) is not None
    too_deep = "[" + deepest + "]"
    assert "nested deeper than 32 levels" in refused(write(tmp_path, f"over.{suffix}", too_deep))


def test_yaml_numbers_up_to_the_limit_are_read(tmp_path: Path) -> None:
    digits = "9" * MAX_YAML_NUMBER_CHARS

    assert read_job_list(write(tmp_path, "n.yaml", f"- {digits}\n")) == [int(digits)]


def test_yaml_without_aliases_keeps_its_safe_types(tmp_path: Path) -> None:
    text = (
        f"jobs:\n  - {{project_id: {PROJECT}, job_name: a, since: 2024-01-02}}\n"
        "  - !!binary aGVsbG8=\n  - {<<: {project_id: p}, job_name: b}\n"
    )

    value = read_job_list(write(tmp_path, "jobs.yaml", text))

    assert value["jobs"][0]["since"].isoformat() == "2024-01-02"
    assert value["jobs"][1] == b"hello"
    assert value["jobs"][2] == {"project_id": "p", "job_name": "b"}


def test_a_tick_that_cannot_read_its_list_fails_the_invocation(tmp_path: Path) -> None:
    """The documented way: TickFailed, which Lambda retries and then sends on."""
    path = write(tmp_path, "jobs.yaml", ALIAS_BOMB)
    upstream = FakeUpstream([])
    runner = bootstrap.build_tick_runner(
        root_settings(JOBS_URI=path), service=fake_service(upstream)
    )

    with pytest.raises(TickFailed, match="aliases are not accepted"):
        schedule.run_tick(runner, scheduled_event())
    assert upstream.calls == []


# -- hypothesis: whatever the bytes, a value the tick can take or one InvalidInput ------

YAML_PIECES = st.sampled_from(
    [
        "- ",
        "  ",
        "\n",
        ": ",
        "? ",
        "[",
        "]",
        "{",
        "}",
        ", ",
        "&a ",
        "*a",
        "!!int ",
        "!!timestamp ",
        "!!binary ",
        "!!set ",
        "!!python/name:os.system ",
        "<<: ",
        "---\n",
        "'",
        '"',
        "\\ud800",
        "#",
        "project_id",
        "job_name",
        PROJECT,
        "2024-13-45",
        "9" * 400,
        "0x1f",
        "1:2:3",
        ".inf",
        "~",
        "\x00",
        "\t",
    ]
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.just(PROJECT),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["project_id", "job_name", "workspace", "x"]), children)
    ),
    max_leaves=30,
)


def load_outcome(path: str) -> InvalidInput | tuple[Any, ...]:
    """The entries the tick would poll, or the InvalidInput that stopped it."""
    try:
        entries, _ = job_entries(read_job_list(path))
    except InvalidInput as error:
        return error
    return entries


def assert_loaded_or_refused(path: str) -> None:
    outcome = load_outcome(path)
    if isinstance(outcome, InvalidInput):
        assert outcome.detail.isprintable()
        assert len(outcome.detail) < 600


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200), suffix=st.sampled_from(["json", "yaml"]))
def test_any_bytes_are_read_or_refused(tmp_path: Path, data: bytes, suffix: str) -> None:
    assert_loaded_or_refused(write(tmp_path, f"jobs.{suffix}", data))


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pieces=st.lists(YAML_PIECES, max_size=40))
def test_any_yaml_made_of_hostile_pieces_is_read_or_refused(
    tmp_path: Path, pieces: list[str]
) -> None:
    text = "".join(pieces).encode("utf-8", "surrogatepass")
    assert_loaded_or_refused(write(tmp_path, "jobs.yaml", text))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=json_values, depth=st.integers(min_value=0, max_value=60))
def test_any_json_shape_is_read_or_refused(tmp_path: Path, value: Any, depth: int) -> None:
    text = "[" * depth + json.dumps(value) + "]" * depth  # NaN and Infinity included
    assert_loaded_or_refused(write(tmp_path, "jobs.json", text))


# -- a key given twice, anywhere in a list that is otherwise valid ---------------------

_ASCII_TEXT = st.text(alphabet='abz_:-"\\ {}[]', max_size=6)
_ascii_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | _ASCII_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_ASCII_TEXT, children, max_size=3)
    ),
    max_leaves=6,
)
_job_lists = st.fixed_dictionaries(
    {
        "jobs": st.lists(
            st.fixed_dictionaries(
                {"project_id": st.just(PROJECT), "job_name": st.text("abc_", min_size=1)},
                optional={"workspace": st.just("ws"), "x": _ascii_values},
            ),
            min_size=1,
            max_size=3,
        )
    },
    optional={"x": _ascii_values},
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    repeated=repeated_names(_job_lists, _ascii_values),
    suffix=st.sampled_from(["json", "yaml"]),  # JSON is YAML's flow style
)
def test_a_key_repeated_anywhere_in_a_job_list_is_refused_by_name(
    tmp_path: Path, repeated: Repeated, suffix: str
) -> None:
    detail = refused(write(tmp_path, f"jobs.{suffix}", repeated.text))

    assert detail.startswith(f"the job list {tmp_path}")
    assert f"repeats the key {json.dumps(repeated.name)} in one " in detail or (
        repeated.name == "" and "the empty key" in detail
    )
