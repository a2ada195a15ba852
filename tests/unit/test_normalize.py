from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ValidationReport, Violation
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.extra_keys import decode_extra
from dlf_status.domain.model import ValidationMode
from dlf_status.domain.normalize import Source, content_hash, normalise

OBSERVED = datetime(2026, 5, 4, 3, 2, 1, 987654, tzinfo=UTC)
SOURCE = Source("p1", "job", "ws1", "https://upstream.invalid")


def run(body: Any, report: ValidationReport | None = None) -> StatusDocument:
    return normalise(body, source=SOURCE, observed_at=OBSERVED, report=report or ValidationReport())


def violations_of(document: StatusDocument) -> dict[str, str]:
    return {item["path"]: item["message"] for item in document["validation"]["violations"]}


def test_the_document_carries_version_time_and_source() -> None:
    document = run({"name": "job"})

    assert document["schema_version"] == "1.1"
    assert document["observed_at"] == "2026-05-04T03:02:01.987Z"
    assert document["source"] == {
        "project_id": "p1",
        "workspace": "ws1",
        "job_name": "job",
        "endpoint": "https://upstream.invalid",
    }


def test_sdk_and_doc_spellings_land_on_the_same_fields() -> None:
    doc_spelling = run(
        {
            "name": "j",
            "startTime": 0,
            "nodes": [{"name": "n", "type": "T", "LastInstanceStatus": "w"}],
        }
    )
    sdk_spelling = run(
        {
            "name": "j",
            "starttime": 0,
            "nodes": [{"name": "n", "nodeType": "T", "lastInstanceStatus": "w"}],
        }
    )

    for document in (doc_spelling, sdk_spelling):
        assert document["job"]["start_time"] == "1970-01-01T00:00:00.000Z"
        assert document["nodes"][0]["type"] == "T"
        assert document["nodes"][0]["last_instance_status"] == "w"
        assert document["nodes"][0]["extra"] == {}


def test_when_two_spellings_are_present_the_first_wins_and_the_other_is_kept() -> None:
    document = run({"name": "j", "nodes": [{"name": "n", "type": "Shell", "nodeType": "CDMJob"}]})

    assert document["nodes"][0]["type"] == "Shell"
    assert document["nodes"][0]["extra"] == {"node^type": "CDMJob"}
    assert decode_extra(document["nodes"][0]["extra"]) == {"nodeType": "CDMJob"}


def test_job_fields_beyond_the_basics_are_named() -> None:
    document = run({"name": "j", "createUser": "alice", "lastModifiyUser": "bob"})

    assert document["job"]["creator"] == "alice"
    assert document["job"]["last_modifier"] == "bob"
    assert document["extra"] == {}


def test_status_raw_keeps_the_upstream_word() -> None:
    document = run({"name": "j", "status": "ABNORMAL", "nodes": [{"name": "n", "status": "pause"}]})

    assert (document["job"]["status"], document["job"]["status_raw"]) == ("EXCEPTION", "ABNORMAL")
    assert (document["nodes"][0]["status"], document["nodes"][0]["status_raw"]) == (
        "STOPPED",
        "pause",
    )


def test_a_missing_status_is_unknown_with_no_raw_value() -> None:
    document = run({"name": "j", "nodes": [{"name": "n"}]})

    assert (document["job"]["status"], document["job"]["status_raw"]) == ("UNKNOWN", None)
    assert document["summary"]["nodes_by_status"]["UNKNOWN"] == 1


def test_an_unreadable_value_becomes_null_plus_a_violation_and_is_kept_in_extra() -> None:
    document = run(
        {
            "name": "j",
            "status": 3,
            "startTime": "yesterday",
            "nodes": [{"name": "n", "totalGetBytes": "12", "jobInstanceId": True}],
        }
    )

    assert document["job"]["status"] == "UNKNOWN"
    assert document["job"]["status_raw"] is None
    assert document["job"]["start_time"] is None
    assert decode_extra(document["extra"]) == {"status": 3, "startTime": "yesterday"}
    node = document["nodes"][0]
    assert node["metrics"]["total_get_bytes"] is None
    assert node["job_instance_id"] is None
    assert decode_extra(node["extra"]) == {"totalGetBytes": "12", "jobInstanceId": True}
    assert set(violations_of(document)) == {
        "$.status",
        "$.startTime",
        "$.nodes[0].totalGetBytes",
        "$.nodes[0].jobInstanceId",
    }
    assert document["validation"]["valid"] is False


def test_the_validator_message_wins_over_ours_at_the_same_place() -> None:
    report = ValidationReport(violations=(Violation("$.status", "3 is not of type 'string'"),))

    document = run({"name": "j", "status": 3}, report)

    assert violations_of(document) == {"$.status": "3 is not of type 'string'"}


def test_validator_violations_and_unknown_fields_are_reported() -> None:
    report = ValidationReport(
        violations=(Violation("$response.header.Content-Type", "text/plain"),),
        unknown_fields=("$.jobId",),
    )

    document = run({"name": "j", "jobId": 1}, report)

    assert document["validation"] == {
        "mode": "lenient",
        "valid": False,
        "violations": [{"path": "$response.header.Content-Type", "message": "text/plain"}],
        "unknown_fields": ["$.jobId"],
    }


def test_strict_mode_is_recorded() -> None:
    document = normalise(
        {"name": "j"},
        source=SOURCE,
        observed_at=OBSERVED,
        report=ValidationReport(),
        mode=ValidationMode.STRICT,
    )

    assert document["validation"]["mode"] == "strict"


def test_nodes_that_are_not_a_list_are_kept_verbatim() -> None:
    document = run({"name": "j", "nodes": {"name": "n"}})

    assert document["nodes"] == []
    assert document["extra"] == {"nodes": {"name": "n"}}
    assert "$.nodes" in violations_of(document)


def test_node_entries_that_are_not_objects_are_kept_in_extra_nodes() -> None:
    document = run({"name": "j", "nodes": [{"name": "ok"}, "oops", 7]})

    assert [node["name"] for node in document["nodes"]] == ["ok"]
    assert document["extra"] == {"nodes": ["oops", 7]}
    assert {"$.nodes[1]", "$.nodes[2]"} <= set(violations_of(document))


@pytest.mark.parametrize(
    "entries",
    [[5, "x"], ["x", 5], [[2], [1], None, {"name": "n"}, False, 0.5, "b", "a"], [3, 3, 2]],
)
def test_node_entries_that_are_not_objects_keep_the_upstream_order(entries: list[Any]) -> None:
    document = run({"name": "j", "nodes": entries})

    kept = [entry for entry in entries if not isinstance(entry, dict)]
    assert document["extra"]["nodes"] == kept
    # each one's position is named by its violation
    positions = [index for index, entry in enumerate(entries) if not isinstance(entry, dict)]
    assert {f"$.nodes[{index}]" for index in positions} <= set(violations_of(document))
    assert jsoncodec.canonical_bytes(run({"name": "j", "nodes": entries})) == (
        jsoncodec.canonical_bytes(document)
    )


@pytest.mark.parametrize("body", [[1, 2], "text", 3, None, True])
def test_a_body_that_is_not_an_object_is_kept_whole(body: Any) -> None:
    document = run(body)

    assert document["extra"] == {"$": body}
    assert document["job"]["status"] == "UNKNOWN"
    assert "$" in violations_of(document)


def test_metrics_are_always_present_null_when_not_sent() -> None:
    document = run({"name": "j", "nodes": [{"name": "n", "speed": 2.5}]})

    assert document["nodes"][0]["metrics"] == {
        "buffer_records": None,
        "speed": 2.5,
        "total_get_bytes": None,
        "total_get_records": None,
        "total_put_bytes": None,
        "total_put_records": None,
    }


def test_nodes_are_sorted_by_name_with_unnamed_nodes_first() -> None:
    document = run({"name": "j", "nodes": [{"name": "b"}, {"status": "NORMAL"}, {"name": "a"}]})

    assert [node["name"] for node in document["nodes"]] == [None, "a", "b"]


def test_node_order_does_not_depend_on_the_upstream_order_even_for_equal_names() -> None:
    nodes = [
        {"name": "same", "status": "NORMAL"},
        {"name": "same", "status": "EXCEPTION"},
        {"name": "other"},
    ]

    forward = run({"name": "j", "nodes": nodes})
    backward = run({"name": "j", "nodes": list(reversed(nodes))})

    assert jsoncodec.canonical_bytes(forward) == jsoncodec.canonical_bytes(backward)


def test_summary_counts_nodes_by_status_with_every_status_present() -> None:
    document = run(
        {
            "name": "j",
            "nodes": [{"name": "a", "status": "NORMAL"}, {"name": "b", "status": "NORMAL"}],
        }
    )

    assert document["summary"] == {
        "node_count": 2,
        "nodes_by_status": {
            "STARTING": 0,
            "NORMAL": 2,
            "EXCEPTION": 0,
            "STOPPING": 0,
            "STOPPED": 0,
            "UNKNOWN": 0,
        },
    }


def test_content_hash_ignores_the_observation_time_but_not_the_content() -> None:
    first = run({"name": "j", "status": "NORMAL"})
    later = normalise(
        {"name": "j", "status": "NORMAL"},
        source=SOURCE,
        observed_at=datetime(2030, 1, 1, tzinfo=UTC),
        report=ValidationReport(),
    )
    changed = run({"name": "j", "status": "EXCEPTION"})

    assert content_hash(first) == content_hash(later)
    assert content_hash(first) != content_hash(changed)
    assert content_hash({**first, "stale": True, "stale_age_seconds": 5}) == content_hash(first)


def test_a_field_with_a_third_spelling_is_refused_when_the_tables_are_read() -> None:
    # `_read` looks for the one spelling that outranks a key; a third would go unseen.
    from dlf_status.domain import normalize

    table = {"type": ("type", "nodeType", "node_type")}
    with pytest.raises(ValueError, match="at most two spellings"):
        normalize._rules((table, normalize._TEXT, normalize._FIELDS))


def test_the_spelling_that_outranks_a_key_wins_whichever_comes_first() -> None:
    for node in (
        {"name": "n", "LastInstanceStatus": "second", "lastInstanceStatus": "first"},
        {"name": "n", "lastInstanceStatus": "first", "LastInstanceStatus": "second"},
    ):
        document = normalise(
            {"name": "j", "nodes": [node]},
            source=Source("p1", "j"),
            observed_at=datetime(2026, 11, 26, tzinfo=UTC),
            report=ValidationReport(),
        )
        (read,) = document["nodes"]
        assert read["last_instance_status"] == "first"
        assert decode_extra(read["extra"]) == {"LastInstanceStatus": "second"}
