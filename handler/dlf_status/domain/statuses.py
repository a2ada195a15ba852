"""The upstream's statuses, folded into the six our consumers alert on.

The documentation lists five; the SDK adds five more. Each extra one is folded
into the documented status whose meaning it shares for someone watching a
stream; `status_raw` always keeps the upstream's own word.
"""

from __future__ import annotations

from typing import Final

STATUSES: Final = ("STARTING", "NORMAL", "EXCEPTION", "STOPPING", "STOPPED", "UNKNOWN")
UNKNOWN: Final = "UNKNOWN"

STATUS_MAP: Final[dict[str, str]] = {
    # documented
    "STARTING": "STARTING",
    "NORMAL": "NORMAL",
    "EXCEPTION": "EXCEPTION",
    "STOPPING": "STOPPING",
    "STOPPED": "STOPPED",
    # SDK only
    "INIT": "STARTING",  # initialising: not yet processing
    "ABNORMAL": "EXCEPTION",  # "running abnormally / failed"
    "PAUSE": "STOPPED",  # paused: not processing, not failed
    "DISABLE": "STOPPED",  # the node is disabled
    "OVERLOAD": "NORMAL",  # busy, but running
}


def normalise_status(raw: str) -> str:
    """Map case-insensitively; anything unlisted (or empty) is UNKNOWN."""
    exact = STATUS_MAP.get(raw)  # the common case, without building new strings
    return exact if exact is not None else STATUS_MAP.get(raw.strip().upper(), UNKNOWN)
