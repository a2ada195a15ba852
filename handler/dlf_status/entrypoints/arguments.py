"""argparse types shared by the command line's modules (`cli.py`, `cli_reads.py`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from dlf_status.config import Limits, describe_range, shown, whole_number


def whole_argument(limits: Limits) -> Callable[[str], int]:
    """An argparse type: ASCII digits in range (`int` takes fullwidth digits, '1_0', ' -3')."""

    def parse(value: str) -> int:
        number = whole_number(value, limits)
        if number is None:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {describe_range(limits)}, got {shown(value)}"
            )
        return number

    return parse
