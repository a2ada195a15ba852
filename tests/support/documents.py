"""Status documents as the service builds them, for the tests that store or compare
them: one builder, so that every suite's documents have the same shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.model import JobRef
from dlf_status.domain.normalize import Source, normalise

ENDPOINT = "https://dayu-dlf.cn-north-4.myhuaweicloud.com"


def status_document(
    job: JobRef,
    status: str,
    observed_at: datetime,
    nodes: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
) -> StatusDocument:
    """The document the service would store for an upstream answer with these statuses
    (nodes as name -> status, or as pairs where names may repeat)."""
    body: dict[str, Any] = {"name": job.job_name, "status": status}
    if nodes is not None:
        pairs = nodes.items() if isinstance(nodes, Mapping) else nodes
        body["nodes"] = [{"name": name, "status": value} for name, value in pairs]
    return normalise(
        body,
        source=Source(job.project_id, job.job_name, job.workspace, ENDPOINT),
        observed_at=observed_at,
        report=ValidationReport(),
    )
