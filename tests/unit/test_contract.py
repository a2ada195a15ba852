from __future__ import annotations

from dlf_status.domain.contract import (
    LIST_JOBS,
    OPERATIONS,
    SHOW_JOB_STATUS,
    Contract,
    Violation,
    packaged_contract,
)

JOB = {"$ref": "#/components/schemas/RealTimeJobStatus"}
LIST_PAGE = {"$ref": "#/components/schemas/JobList"}


def test_every_spelling_the_normaliser_maps_is_declared_in_the_spec() -> None:
    from dlf_status.domain import normalize

    schemas = packaged_contract().spec["components"]["schemas"]
    job_keys = set(schemas["RealTimeJobStatus"]["properties"])
    node_keys = set(schemas["RealTimeNodeStatus"]["properties"])
    job_spellings = {"name", "status", "nodes"}
    for table in (normalize.JOB_TIMES, normalize.JOB_TEXTS):
        job_spellings.update(key for spellings in table.values() for key in spellings)
    node_spellings = {"name", "status"}
    for table in (normalize.NODE_TEXTS, normalize.NODE_INTEGERS, normalize.NODE_METRICS):
        node_spellings.update(key for spellings in table.values() for key in spellings)

    assert job_spellings == job_keys
    # runningData and extendCounter are declared but deliberately left in extra, verbatim.
    assert node_keys - node_spellings == {"runningData", "extendCounter"}
    assert node_spellings <= node_keys


def test_unknown_fields_are_listed_once_with_array_positions_as_stars() -> None:
    body = {
        "name": "j",
        "jobId": 1,
        "nodes": [{"name": "a", "parallelism": 2}, {"name": "b", "parallelism": 3, "odd key": 1}],
    }

    found = packaged_contract().unknown_fields(JOB, body)

    assert found == ("$.jobId", "$.nodes[*].parallelism", "$.nodes[*]['odd key']")


def test_unknown_fields_inside_an_unknown_field_are_not_listed_twice() -> None:
    found = packaged_contract().unknown_fields(JOB, {"name": "j", "labels": {"team": "x"}})

    assert found == ("$.labels",)


def test_no_schema_means_no_drift_report() -> None:
    assert packaged_contract().unknown_fields(None, {"anything": 1}) == ()


def test_response_lookup_falls_back_to_the_default_response() -> None:
    contract = packaged_contract()

    assert "text/html" in contract.response_for(502)["content"]
    assert contract.body_schema(429, "application/json") == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert contract.body_schema(200, "text/html") is None


def test_a_range_response_is_found_before_the_default() -> None:
    spec = {
        "paths": {
            "/v1/{project_id}/jobs/{job_name}/status": {
                "get": {
                    "responses": {"5XX": {"description": "range"}, "default": {"description": "d"}}
                }
            }
        }
    }

    assert Contract(spec).response_for(503) == {"description": "range"}


def test_violation_messages_are_cut_to_a_readable_length() -> None:
    violation = Violation.of("$", "x" * 5000)

    assert len(violation.message) == 300
    assert violation.message.endswith("...")


def test_each_operation_is_seen_through_the_one_packaged_spec() -> None:
    status, listing = packaged_contract(SHOW_JOB_STATUS), packaged_contract(LIST_JOBS)

    assert packaged_contract() is status
    assert packaged_contract(LIST_JOBS) is listing
    assert listing.spec is status.spec
    assert (status.operation["operationId"], listing.operation["operationId"]) == (
        "ShowJobStatus",
        "ListJobs",
    )
    assert set(OPERATIONS) == {"ShowJobStatus", "ListJobs"}


def test_an_operation_has_a_concrete_example_path() -> None:
    assert SHOW_JOB_STATUS.example_path() == "/v1/x/jobs/x/status"
    assert LIST_JOBS.example_path() == "/v1/x/jobs"


def test_the_list_operation_finds_its_own_responses_and_shares_the_gateways() -> None:
    status, listing = packaged_contract(), packaged_contract(LIST_JOBS)

    assert listing.body_schema(200, "application/json") == {"$ref": "#/components/schemas/JobList"}
    assert listing.response_for(401) == status.response_for(401)
    assert listing.response_for(503) == status.response_for(503)
    assert "DLF.3051" in listing.response_for(400)["description"]


def test_list_drift_is_found_inside_every_job() -> None:
    page = {"total": 1, "jobs": [{"name": "j", "id": 3}, {"name": "k", "tags": ["a"]}, "odd"]}

    found = packaged_contract(LIST_JOBS).unknown_fields(LIST_PAGE, page)

    assert found == ("$.jobs[*].id", "$.jobs[*].tags")


def test_a_contract_for_the_same_operation_is_itself() -> None:
    contract = packaged_contract()

    assert contract.for_operation(SHOW_JOB_STATUS) is contract


def test_a_violation_message_is_cut_and_printable_whatever_the_value_it_quotes() -> None:
    from dlf_status.domain.contract import MAX_MESSAGE_LENGTH, Violation

    violation = Violation.of("$.x", '"\x01\u202e\x85' + "v" * 1000 + '" is not of type "integer"')

    assert violation.message.isprintable()
    assert len(violation.message) == MAX_MESSAGE_LENGTH
    assert violation.message.startswith('"\\x01\\u202e\\x85vvv')
