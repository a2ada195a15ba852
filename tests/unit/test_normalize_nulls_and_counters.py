"""Explicit nulls are absence, counters are integers: the normaliser and the
contract (the compiled validator built from openapi.yaml) agree on both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import packaged_contract
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.model import Headers, UpstreamResponse
from dlf_status.domain.normalize import Source, normalise

VALIDATOR = CompiledValidator(packaged_contract())
SOURCE = Source("p1", "job", None, "https://upstream.invalid")
OBSERVED = datetime(2026, 5, 4, tzinfo=UTC)


def observe(body: Any) -> StatusDocument:
    """Validate and normalise `body` as a 200 answer, as the service does."""
    raw = jsoncodec.canonical_bytes(body)
    response = UpstreamResponse(200, Headers({"Content-Type": "application/json"}), raw)
    report = VALIDATOR.validate(response, body)
    return normalise(body, source=SOURCE, observed_at=OBSERVED, report=report)


def violation_paths(document: StatusDocument) -> list[str]:
    return [item["path"] for item in document["validation"]["violations"]]


JAVA_NULLS_JOB = {
    "name": "job_sms",
    "status": None,
    "startTime": None,
    "starttime": None,
    "endTime": None,
    "lastUpdateTime": None,
    "createUser": None,
    "lastModifiyUser": None,
}
JAVA_NULLS_NODE = {
    "name": "n1",
    "status": None,
    "type": None,
    "nodeType": None,
    "logPath": None,
    "lastInstanceStatus": None,
    "LastInstanceStatus": None,
    "jobInstanceId": None,
    "bufferRecords": None,
    "speed": None,
    "totalGetBytes": None,
    "totalGetRecords": None,
    "totalPutBytes": None,
    "totalPutRecords": None,
}


def test_optional_job_fields_sent_as_null_are_absent() -> None:
    document = observe(JAVA_NULLS_JOB)

    assert document["validation"]["valid"] is True
    assert document["job"] == {
        "name": "job_sms",
        "status": "UNKNOWN",
        "status_raw": None,
        "start_time": None,
        "end_time": None,
        "last_update_time": None,
        "creator": None,
        "last_modifier": None,
    }
    assert document["extra"] == {}


def test_optional_node_fields_sent_as_null_are_absent() -> None:
    document = observe({"name": "j", "nodes": [JAVA_NULLS_NODE]})

    node = document["nodes"][0]
    assert document["validation"]["valid"] is True
    assert node["metrics"] == dict.fromkeys(node["metrics"])
    assert [node[key] for key in ("type", "log_path", "last_instance_status")] == [None] * 3
    assert (node["job_instance_id"], node["status"], node["extra"]) == (None, "UNKNOWN", {})


def test_nodes_sent_as_null_is_no_node() -> None:
    document = observe({"name": "j", "nodes": None})

    assert (document["nodes"], document["extra"]) == ([], {})
    assert document["validation"]["valid"] is True


def test_an_unmapped_field_sent_as_null_is_kept_verbatim_and_valid() -> None:
    document = observe({"name": "j", "nodes": [{"name": "n", "runningData": None}]})

    assert document["validation"]["valid"] is True
    assert list(document["nodes"][0]["extra"].values()) == [None]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": None}, "$.name"),
        ({"name": "j", "nodes": [{"name": None}]}, "$.nodes[0].name"),
    ],
)
def test_a_required_name_sent_as_null_stays_a_violation(body: dict[str, Any], path: str) -> None:
    document = observe(body)

    assert document["validation"]["valid"] is False
    assert path in violation_paths(document)


def test_a_null_spelling_never_outranks_one_with_a_value() -> None:
    document = observe({"name": "j", "startTime": None, "starttime": 1551409406000})

    assert document["job"]["start_time"] == "2019-03-01T03:03:26.000Z"
    assert (document["extra"], document["validation"]["valid"]) == ({}, True)


def test_counters_are_exact_integers_beyond_53_and_64_bits() -> None:
    node = {"name": "n", "totalGetBytes": 9007199254740993, "totalPutBytes": 2**65 + 1}

    metrics = observe({"name": "j", "nodes": [node]})["nodes"][0]["metrics"]

    assert metrics["total_get_bytes"] == 9007199254740993
    assert metrics["total_put_bytes"] == 36893488147419103233
    assert type(metrics["total_get_bytes"]) is int


@pytest.mark.parametrize(
    ("key", "field"),
    [("bufferRecords", "buffer_records"), ("jobInstanceId", "job_instance_id")],
)
def test_an_integral_number_with_a_fraction_is_the_integer(key: str, field: str) -> None:
    document = observe({"name": "j", "nodes": [{"name": "n", key: 1e3}]})

    node: dict[str, Any] = dict(document["nodes"][0])
    value = node["metrics"][field] if field in node["metrics"] else node[field]
    assert (value, type(value)) == (1000, int)
    assert document["validation"]["valid"] is True


def test_a_counter_with_a_fraction_is_kept_in_extra_with_a_violation() -> None:
    document = observe({"name": "j", "nodes": [{"name": "n", "totalGetRecords": 1.5}]})

    node = document["nodes"][0]
    assert node["metrics"]["total_get_records"] is None
    assert list(node["extra"].values()) == [1.5]
    assert violation_paths(document) == ["$.nodes[0].totalGetRecords"]


def test_speed_is_a_rate_and_keeps_its_fraction() -> None:
    document = observe({"name": "j", "nodes": [{"name": "n", "speed": 1523.75}]})

    assert document["nodes"][0]["metrics"]["speed"] == 1523.75
    assert document["validation"]["valid"] is True


@pytest.mark.parametrize(
    ("key", "field"),
    [("bufferRecords", "buffer_records"), ("jobInstanceId", "job_instance_id")],
)
@pytest.mark.parametrize("value", [1e100, -1e100, 1e300, 1.7976931348623157e308])
def test_an_integral_number_past_the_integer_bound_is_kept_as_sent(
    key: str, field: str, value: float
) -> None:
    document = observe({"name": "j", "nodes": [{"name": "n", key: value}]})

    node: dict[str, Any] = dict(document["nodes"][0])
    assert (node["metrics"] | node)[field] is None
    assert list(node["extra"].values()) == [value]
    assert violation_paths(document) == [f"$.nodes[0].{key}"]
    # and the document reads back as dlf-status reads its stored documents
    assert jsoncodec.loads(jsoncodec.canonical_bytes(document), jsoncodec.STORED) == document


def test_an_integral_number_of_a_hundred_digits_is_the_integer() -> None:
    document = observe({"name": "j", "nodes": [{"name": "n", "bufferRecords": 9.999e99}]})

    value = document["nodes"][0]["metrics"]["buffer_records"]
    assert (type(value), len(str(value))) == (int, 100)
    assert jsoncodec.loads(jsoncodec.canonical_bytes(document), jsoncodec.STORED) == document
