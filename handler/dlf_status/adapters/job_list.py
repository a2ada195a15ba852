"""Job lists for scheduled polls: a JSON or YAML file, local or in S3.

Read at every tick (one small GET), so editing the list needs no redeploy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlf_status.domain import jsoncodec
from dlf_status.errors import InvalidInput


def _read_bytes(uri: str, s3_endpoint_url: str | None) -> bytes:
    if uri.startswith("s3://"):
        from botocore.exceptions import BotoCoreError, ClientError

        from dlf_status.adapters.store_s3 import make_s3_client, parse_s3_uri

        bucket, key = parse_s3_uri(uri)
        try:
            answer = make_s3_client(s3_endpoint_url).get_object(Bucket=bucket, Key=key)
            data: bytes = answer["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise InvalidInput(f"cannot read the job list {uri}: {code}") from None
        except BotoCoreError as exc:
            raise InvalidInput(f"cannot read the job list {uri}: {type(exc).__name__}") from None
        return data
    try:
        return Path(uri).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the job list {uri}: {exc.strerror or exc}") from None


def read_job_list(uri: str, s3_endpoint_url: str | None = None) -> Any:
    """The parsed list (or {"jobs": list}); YAML for .yaml/.yml, JSON otherwise."""
    data = _read_bytes(uri, s3_endpoint_url)
    if uri.lower().endswith((".yaml", ".yml")):
        import yaml  # only ticks with a YAML list pay for the import

        try:
            return yaml.safe_load(data)
        except yaml.YAMLError as exc:
            # The position only: YAML's messages quote the file, which may not be a job list.
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise InvalidInput(f"the job list {uri} is not valid YAML{where}") from None
    try:
        return jsoncodec.loads(data)
    except jsoncodec.JsonDecodeError as exc:
        raise InvalidInput(f"the job list {uri} is not valid JSON: {exc}") from None
