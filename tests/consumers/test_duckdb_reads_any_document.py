"""Whatever the upstream sends, DuckDB can read the documents we make of it.

Generated bodies (any JSON; the contract's fields well or badly typed; keys that
differ only by case, empty keys, hundreds of keys, deep nesting, one key holding
other types in other documents) go through the real validator and normaliser, are
stored under their real keys by the local store, and the README's query must read
every one of them back, with its job name.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import packaged_contract
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.model import Headers, JobRef, UpstreamResponse
from dlf_status.domain.normalize import Source, content_hash, normalise
from dlf_status.domain.snapshots import history_key
from tests.properties.strategies import job_bodies, json_scalars, json_values

VALIDATOR = CompiledValidator(packaged_contract())
SLOT = datetime(2026, 11, 25, tzinfo=UTC)
QUERY = """
    SELECT job_name, source.job_name, observed_at, job.status, summary.nodes_by_status
    FROM read_json('{root}/history/**/*.json', hive_partitioning = true)
"""

# Keys an engine may confuse: case variants of one word, the empty key, the escape.
CONFUSING_KEYS = st.sampled_from(
    ["startTime", "starttime", "STARTTIME", "StartTime", "", "^", "^a", "É", "é", "ß", "ss"]
)
KEYS = CONFUSING_KEYS | st.text(max_size=6)
TREES = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=30,
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """Past DuckDB's 128 levels. Not past 250: jsonschema-rs fails to render a
    violation on a value 256 levels deep (a bound on depth at parse is issue 9's)."""
    value: Any = draw(json_scalars)
    for level in range(draw(st.integers(min_value=100, max_value=250))):
        value = {"Down": value} if level % 3 else [value]
    return value


@st.composite
def many_keys(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(min_value=150, max_value=400))
    return {f"{'K' if index % 2 else 'k'}{index // 2}": index for index in range(count)}


EXTRA_VALUES = TREES | deep() | many_keys()
HOSTILE_BODIES = st.builds(
    lambda body, extra, node_extra: {
        **body,
        **extra,
        "nodes": [{"name": "n", **node_extra}, *body.get("nodes", [])]
        if isinstance(body.get("nodes", []), list)
        else body["nodes"],
    },
    job_bodies,
    st.dictionaries(KEYS, EXTRA_VALUES, max_size=4),
    st.dictionaries(KEYS, EXTRA_VALUES, max_size=4),
)
BODIES = HOSTILE_BODIES | job_bodies | json_values
NAMES = st.sampled_from(["job", "Job", "作业" * 12, "é" * 34, "__HIVE_DEFAULT_PARTITION__", "a/b"])


def document_of(body: Any, name: str, observed_at: datetime) -> StatusDocument:
    raw = jsoncodec.canonical_bytes(body)
    response = UpstreamResponse(200, Headers({"Content-Type": "application/json"}), raw)
    return normalise(
        body,
        source=Source("p1", name, None, None),
        observed_at=observed_at,
        report=VALIDATOR.validate(response, body),
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.tuples(BODIES, NAMES), min_size=1, max_size=4))
def test_the_readme_query_reads_every_document_whatever_the_upstream_sent(
    observations: list[tuple[Any, str]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = LocalDirectoryStore(Path(directory))
        stored: set[str] = set()
        for index, (body, name) in enumerate(observations):
            moment = SLOT + timedelta(seconds=index)
            document = document_of(body, name, moment)
            key = history_key(JobRef.parse("p1", name), moment, content_hash(document))
            store.create(key, jsoncodec.canonical_bytes(document), {})
            stored.add(key)

        connection = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        rows = connection.sql(QUERY.format(root=directory)).fetchall()

    assert len(rows) == len(stored)
    for job_name, source_name, *_ in rows:
        assert job_name == source_name or (len(source_name) > 20 and "~" in job_name)
