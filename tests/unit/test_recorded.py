from __future__ import annotations

from typing import Any

import pytest

from dlf_status.errors import InvalidInput
from dlf_status.recorded import exchange_from_json

EXCHANGE: dict[str, Any] = {"source": "s", "status": 200, "headers": {}, "body": {"total": 0}}


def test_an_exchange_without_an_operation_answers_the_status_call() -> None:
    assert exchange_from_json(EXCHANGE).operation == "ShowJobStatus"


def test_an_exchange_names_the_operation_it_answers() -> None:
    assert exchange_from_json({**EXCHANGE, "operation": "ListJobs"}).operation == "ListJobs"


@pytest.mark.parametrize("operation", ["listJobs", "", ["ListJobs"], {"a": 1}, 3, None])
def test_an_unknown_operation_is_bad_input_naming_the_known_ones(operation: object) -> None:
    with pytest.raises(InvalidInput, match="operation must be one of ListJobs, ShowJobStatus"):
        exchange_from_json({**EXCHANGE, "operation": operation})
