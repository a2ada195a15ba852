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


# White space around a word does not change which status it names: the status
# drives transitions and alerts, and a padded " NORMAL" folded to UNKNOWN would
# record two false transitions. `status_raw` keeps the word as sent.
_WHITE_SPACE: Final = " \t\n\r\f\v"


def normalise_status(raw: str) -> str:
    """Map without regard to ASCII case or ASCII white space around the word;
    anything unlisted (or empty) is UNKNOWN. Only ASCII folds: Unicode would also
    turn look-alikes (a long s or a dotless i upper-cases to S or I) and control
    characters around the word (str.strip() removes '\\x1f') into a known status."""
    exact = STATUS_MAP.get(raw)  # the common case, without building new strings
    if exact is not None:
        return exact
    word = raw.strip(_WHITE_SPACE)
    return STATUS_MAP.get(word.upper(), UNKNOWN) if word.isascii() else UNKNOWN
