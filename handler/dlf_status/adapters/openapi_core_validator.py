"""The reference validator: openapi-core checks a whole response against the spec.

It is the contract's referee (tests, `dlf-status validate --validator reference`),
not the hot path: importing openapi-core alone costs about a quarter of a second
and validation grows to tens of milliseconds on large bodies. Only validation is
used, never `unmarshal_response` (5 to 20 times slower again).
"""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import ValidationError as SchemaError
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.validation.response.exceptions import DataValidationError, MissingData
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

from dlf_status.domain import jsoncodec, paths
from dlf_status.domain.contract import (
    NOT_JSON,
    Contract,
    Operation,
    ValidationReport,
    Violation,
    not_json_violation,
)
from dlf_status.domain.model import Headers, UpstreamResponse


class _OperationRequest:
    """The minimal openapi-core `Request` that selects the contract's operation.

    Any concrete path of the operation will do: openapi-core only needs it to find
    the operation whose responses it checks.
    """

    body = None
    content_type = ""

    def __init__(self, host_url: str, operation: Operation) -> None:
        self.host_url = host_url
        self.method = operation.method
        self.path = operation.example_path()
        self.parameters = RequestParameters()


class _OpenAPICoreResponse:
    def __init__(self, response: UpstreamResponse) -> None:
        self.status_code = response.status
        self.content_type = response.content_type
        self.headers: Headers = response.headers
        self.data = response.body


def _header_name(error: Exception) -> str:
    return str(getattr(error, "name", "") or "unknown")


def _violations(error: Exception) -> list[Violation]:
    cause = error.__cause__
    if isinstance(cause, InvalidSchemaValue):
        header = getattr(error, "name", None)
        found = []
        for schema_error in cause.schema_errors:
            if not isinstance(schema_error, SchemaError):
                found.append(Violation.of(paths.ROOT, str(schema_error)))
            elif header is not None:
                found.append(Violation.of(paths.header_path(str(header)), schema_error.message))
            else:
                where = paths.join(schema_error.absolute_path)
                found.append(Violation.of(where, schema_error.message))
        return found
    if isinstance(cause, MediaTypeNotFound):
        return [Violation.of(paths.header_path("Content-Type"), str(cause))]
    if isinstance(error, MissingData) or isinstance(cause, MissingData):
        return [Violation.of(paths.ROOT, "the response has no body")]
    if isinstance(error, DataValidationError):
        return [Violation.of(paths.ROOT, str(cause or error))]
    if hasattr(error, "name"):
        return [Violation.of(paths.header_path(_header_name(error)), str(error))]
    return [Violation.of(paths.STATUS_CODE_PATH, str(error))]


class OpenAPICoreValidator:
    """`ResponseValidator` backed by openapi-core, built once per process and operation."""

    def __init__(self, contract: Contract) -> None:
        self._contract = contract
        self._openapi = OpenAPI.from_dict(dict(contract.spec))
        server_url = contract.spec["servers"][0]["url"]
        variables = contract.spec["servers"][0].get("variables", {})
        for name, variable in variables.items():
            server_url = server_url.replace("{" + name + "}", variable["default"])
        self._request = _OperationRequest(server_url, contract.target)

    def validate(self, response: UpstreamResponse, body: Any) -> ValidationReport:
        violations: list[Violation] = []
        for error in self._openapi.iter_response_errors(
            self._request, _OpenAPICoreResponse(response)
        ):
            violations.extend(_violations(error))
        if body is NOT_JSON and jsoncodec.find_repeated_name(response.body) is not None:
            # openapi-core keeps the last of repeated members and says nothing: the
            # referee names the member as the compiled validator and the hot path do.
            repeated = not_json_violation(response.body)
            if repeated is not None:
                violations.append(repeated)
        schema = self._contract.body_schema(response.status, response.mimetype)
        return ValidationReport(
            violations=tuple(sorted(set(violations))),
            unknown_fields=self._contract.unknown_fields(schema, body),
        )
