"""The composition root: the one place that builds production adapters.

Entry points call these builders; tests call the core with their own adapters.
"""

from __future__ import annotations

from dlf_status.domain.contract import ResponseValidator, packaged_contract


def build_reference_validator() -> ResponseValidator:
    """openapi-core against the packaged spec; imported only when asked for."""
    from dlf_status.adapters.openapi_core_validator import OpenAPICoreValidator

    return OpenAPICoreValidator(packaged_contract())
