"""`dlf-status validate` prints each violation on exactly one line, whatever its
path or message holds: characters that would break or hide a line are escaped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status.domain.contract import ValidationReport, Violation
from dlf_status.domain.model import UpstreamResponse
from dlf_status.entrypoints import cli
from dlf_status.errors import one_line

# A DLF error code with a final newline breaks the pattern `^(DLF|APIG|APIGW)\.[0-9]+$(?!\n)`,
# whose text holds a newline of its own (YAML reads "\n" in double quotes as one).
CODE_WITH_A_NEWLINE = b'{"error_code": "DLF.0100\\n", "error_msg": "m"}'


@pytest.mark.parametrize(
    ("validator", "expected"),
    [
        (
            "compiled",
            r'$.error_code: "DLF.0100\n" does not match "^(DLF|APIG|APIGW)\.[0-9]+$(?!\n)"',
        ),
        (
            "reference",
            r"$.error_code: 'DLF.0100\n' does not match '^(DLF|APIG|APIGW)\\.[0-9]+$(?!\n)'",
        ),
    ],
)
def test_a_message_that_holds_a_newline_is_printed_on_one_line(
    validator: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(CODE_WITH_A_NEWLINE)

    code = cli.main(["validate", "--validator", validator, "--status", "400", str(body)])

    out, _ = capsys.readouterr()
    assert code == 1
    assert out == expected + "\n"


class _Saying:
    """A validator that reports the violations it is given (the port, faked)."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations

    def validate(self, response: UpstreamResponse, body: Any) -> ValidationReport:
        return ValidationReport(violations=tuple(self.violations))


ANY_TEXT = st.text(
    alphabet=st.characters(codec=None) | st.sampled_from("\n\r\x0b\x0c\x1c\x85\u2028\u2029\x1b\\"),
    max_size=30,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(violations=st.lists(st.builds(Violation, ANY_TEXT, ANY_TEXT), min_size=1, max_size=5))
def test_each_violation_is_exactly_one_printable_line(
    violations: list[Violation],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = tmp_path / "body.json"
    body.write_text("{}")
    monkeypatch.setattr(cli, "_validator", lambda _kind, _operation: _Saying(violations))

    code = cli.main(["validate", str(body)])

    out = capsys.readouterr().out
    lines = out.splitlines()  # splits on every Unicode line boundary, not only \n
    assert code == 1
    assert len(lines) == len(violations)
    assert out.endswith("\n")
    assert all(line.isprintable() for line in lines)
    for line, violation in zip(lines, violations, strict=True):
        assert line.startswith(one_line(violation.path, cli.VIOLATION_TEXT) + ": ")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nb", r"a\nb"),
        ("tab\there", r"tab\there"),
        ("\x1b[31mred", r"\x1b[31mred"),
        ("sep\u2028arator", r"sep\u2028arator"),
        ("bidi\u202eflip", r"bidi\u202eflip"),
        ("lone \ud800", r"lone \ud800"),
        (r"\.", r"\."),
        ("作业 é", "作业 é"),
    ],
)
def test_one_line_escapes_only_what_is_not_printable(text: str, shown: str) -> None:
    assert one_line(text) == shown
