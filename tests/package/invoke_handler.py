"""Run inside the wheel's virtualenv (`python -I invoke_handler.py EVENT ANSWER`): import
the HTTP API function's handler as the Lambda runtime does, call it once with EVENT and
a fake context, and write its answer, with where dlf_status was imported from, to
ANSWER as JSON.

Standard library only: this file runs where none of the test tools are installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


class FakeLambdaContext:
    """The attributes of the Lambda context that the handler and Powertools read."""

    function_name = "dlf-status"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:dlf-status"
    memory_limit_in_mb = 256
    aws_request_id = "package-test-request"
    log_group_name = "/aws/lambda/dlf-status"
    log_stream_name = "package-test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def main(event_path: str, answer_path: str) -> int:
    from dlf_status.entrypoints.lambda_http import handler

    event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    answer = handler(event, FakeLambdaContext())  # type: ignore[arg-type]
    imported_from = sys.modules["dlf_status"].__file__
    Path(answer_path).write_text(
        json.dumps({"answer": answer, "imported_from": imported_from}), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
