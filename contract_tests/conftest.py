from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from jsonschema import Draft202012Validator
from pytest_httpserver import HTTPServer

from contract_tests.support import DOCUMENT_SCHEMA
from dlf_status.bootstrap import build_reference_validator
from dlf_status.domain.contract import Operation, ResponseValidator, packaged_contract
from tests.support.schemas import validator


@pytest.fixture(scope="session")
def reference_validator() -> ResponseValidator:
    return build_reference_validator()


@pytest.fixture(scope="session")
def reference_for() -> Callable[[Operation], ResponseValidator]:
    """openapi-core for any operation of the packaged spec, built once per operation."""
    from dlf_status.adapters.openapi_core_validator import OpenAPICoreValidator

    built: dict[Operation, ResponseValidator] = {}

    def reference(operation: Operation) -> ResponseValidator:
        if operation not in built:
            built[operation] = OpenAPICoreValidator(packaged_contract(operation))
        return built[operation]

    return reference


@pytest.fixture(scope="session")
def document_schema_validator() -> Draft202012Validator:
    """The status document schema's strict form: a member it does not name fails."""
    return validator(DOCUMENT_SCHEMA.name)


@pytest.fixture
def upstream(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """pytest-httpserver whose server-side assertion failures fail the test."""
    yield httpserver
    httpserver.check()
