"""`dlf-status normalize` on a 200 body that is not a JSON object: refused as the
function refuses it (an upstream failure: exit 4, one line), never a document."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlf_status.entrypoints.cli import main


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('[5, "x"]', "an array"),
        ('"text"', "a string"),
        ("3", "a number"),
        ("true", "a boolean"),
        ("null", "null"),
    ],
)
@pytest.mark.parametrize("explicit_status", [False, True])
def test_normalize_refuses_a_body_that_is_not_an_object_in_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    body: str,
    said: str,
    explicit_status: bool,
) -> None:
    raw = tmp_path / "body.json"
    raw.write_text(body)

    code = main(["normalize", *(["--status", "200"] if explicit_status else []), str(raw)])

    out, err = capsys.readouterr()
    assert (code, out) == (4, "")
    assert err == f"dlf-status: DataArts Studio's 200 answer is {said}, not an object\n"
