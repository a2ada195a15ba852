"""The drift that motivates dlf-status: the official SDK's models have no field for
much of what the service sends, so its users lose those values. We keep them.

The SDK's deserializer reads exactly the keys in each model's `attribute_map`.
For the job list the SDK's models follow the API Explorer definition [L5][L6]: the
checks below keep our contract in step with them, request and answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from huaweicloudsdkdgc.v1.dgc_client import DgcClient
from huaweicloudsdkdgc.v1.model.job_alarm import JobAlarm
from huaweicloudsdkdgc.v1.model.job_result import JobResult
from huaweicloudsdkdgc.v1.model.list_jobs_request import ListJobsRequest
from huaweicloudsdkdgc.v1.model.list_jobs_response import ListJobsResponse
from huaweicloudsdkdgc.v1.model.real_time_node_status import RealTimeNodeStatus
from huaweicloudsdkdgc.v1.model.show_job_status_response import ShowJobStatusResponse

from contract_tests.support import (
    FIXTURES,
    LIST_FIXTURES,
    golden_document,
    load_exchange,
    read_fixture,
)
from dlf_status.domain.contract import LIST_JOBS, Operation, ResponseValidator, packaged_contract

DOC_2024 = FIXTURES / "valid" / "doc-2024-success.json"
LIST_DRIFT = LIST_FIXTURES / "valid" / "drift-unknown-fields.json"


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


# -- the job list (ListJobs) ----------------------------------------------------------


def _declared(schema_name: str) -> set[str]:
    return set(packaged_contract().spec["components"]["schemas"][schema_name]["properties"])


def _parameters(operation: Operation) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    declared = packaged_contract(operation).operation["parameters"]
    for parameter in declared:
        found.setdefault(parameter["in"], set()).add(parameter["name"])
    return found


def test_the_list_contract_declares_exactly_the_fields_the_sdk_reads() -> None:
    assert _declared("JobList") == sdk_reads(ListJobsResponse)
    assert _declared("ListedJob") == sdk_reads(JobResult)
    assert _declared("JobAlarm") == sdk_reads(JobAlarm)


def test_the_list_contract_describes_the_request_the_sdk_sends() -> None:
    request = ListJobsRequest(
        workspace="w", limit=100, offset=0, job_type="REAL_TIME", job_name="n", tags="t"
    )
    http_info = DgcClient._list_jobs_http_info(request)

    assert http_info["resource_path"] == LIST_JOBS.path
    assert _parameters(LIST_JOBS) == {
        "path": {"project_id"},
        "query": {name for name, _ in http_info["query_params"]},
        "header": set(http_info["header_params"]) - {"Content-Type"},
    }


def test_the_sdk_keeps_no_field_it_does_not_know_and_we_report_them(
    reference_for: Callable[[Operation], ResponseValidator],
) -> None:
    page = read_fixture(LIST_DRIFT)["body"]
    response = load_exchange(LIST_DRIFT).to_response()

    dropped = set(page["jobs"][0]) - sdk_reads(JobResult)
    report = reference_for(LIST_JOBS).validate(response, page)

    assert dropped == {"id", "tags"}
    assert {path.rsplit(".", 1)[-1] for path in report.unknown_fields} >= dropped
