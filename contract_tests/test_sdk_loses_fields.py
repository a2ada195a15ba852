"""The drift that motivates dlf-status: the official SDK's models have no field for
much of what the service sends, so its users lose those values. We keep them.

The SDK's deserializer reads exactly the keys in each model's `attribute_map`.
"""

from __future__ import annotations

from typing import Any

from huaweicloudsdkdgc.v1.model.real_time_node_status import RealTimeNodeStatus
from huaweicloudsdkdgc.v1.model.show_job_status_response import ShowJobStatusResponse

from contract_tests.support import FIXTURES, golden_document, read_fixture
from dlf_status.domain.contract import ResponseValidator

DOC_2024 = FIXTURES / "valid" / "doc-2024-success.json"


def sdk_reads(model: Any) -> set[str]:
    return set(model.attribute_map.values())


def test_the_sdk_model_drops_most_node_fields_of_the_documented_example() -> None:
    node = read_fixture(DOC_2024)["body"]["nodes"][0]

    dropped = set(node) - sdk_reads(RealTimeNodeStatus)

    assert dropped == {
        "bufferRecords",
        "jobInstanceId",
        "LastInstanceStatus",
        "speed",
        "totalGetBytes",
        "totalGetRecords",
        "totalPutBytes",
        "totalPutRecords",
    }


def test_the_sdk_reads_start_time_under_another_spelling_than_the_documentation() -> None:
    assert "starttime" in sdk_reads(ShowJobStatusResponse)
    assert "startTime" not in sdk_reads(ShowJobStatusResponse)
    assert "nodeType" in sdk_reads(RealTimeNodeStatus)
    assert "type" not in sdk_reads(RealTimeNodeStatus)


def test_every_value_the_sdk_drops_is_in_our_document(
    reference_validator: ResponseValidator,
) -> None:
    node = read_fixture(DOC_2024)["body"]["nodes"][0]
    ours = golden_document(DOC_2024, reference_validator)["nodes"][0]

    assert ours["last_instance_status"] == node["LastInstanceStatus"]
    assert ours["job_instance_id"] == node["jobInstanceId"]
    assert ours["metrics"] == {
        "buffer_records": node["bufferRecords"],
        "speed": node["speed"],
        "total_get_bytes": node["totalGetBytes"],
        "total_get_records": node["totalGetRecords"],
        "total_put_bytes": node["totalPutBytes"],
        "total_put_records": node["totalPutRecords"],
    }
