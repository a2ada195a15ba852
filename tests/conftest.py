from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.model import UpstreamResponse


@dataclass
class StubValidator:
    """A `ResponseValidator` that returns a fixed report and remembers its calls."""

    report: ValidationReport = field(default_factory=ValidationReport)
    calls: list[tuple[UpstreamResponse, Any]] = field(default_factory=list)

    def validate(self, response: UpstreamResponse, body: Any) -> ValidationReport:
        self.calls.append((response, body))
        return self.report
