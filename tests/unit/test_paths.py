"""JSONPath spelling of places in an upstream body."""

from __future__ import annotations

import pytest

from dlf_status.domain import paths


@pytest.mark.parametrize(
    ("key", "spelt"),
    [
        ("name", "$.name"),
        (3, "$[3]"),
        ("odd key", "$['odd key']"),
        ("it's", "$['it\\'s']"),
        ("back\\slash", "$['back\\\\slash']"),
    ],
)
def test_a_key_is_spelt_plain_or_quoted(key: str | int, spelt: str) -> None:
    assert paths.child(paths.ROOT, key) == spelt


def test_a_key_past_the_length_is_spelt_cut_then_an_ellipsis() -> None:
    key = "K" * (paths.MAX_KEY_LENGTH + 1)

    spelt = paths.child(paths.ROOT, key)

    assert spelt == "$." + "K" * paths.MAX_KEY_LENGTH + "..."


def test_a_key_of_the_length_is_spelt_whole() -> None:
    key = "'" * paths.MAX_KEY_LENGTH

    assert paths.child("$.x", key) == "$.x['" + "\\'" * paths.MAX_KEY_LENGTH + "']"
