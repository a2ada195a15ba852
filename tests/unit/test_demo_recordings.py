"""The recorded answers the demo replays ship inside the package (so `dlf-status demo`
runs wherever it is installed): they are copies of contract_tests/fixtures/valid, the
ones the contract suites check, and exactly the ones the demo names."""

from __future__ import annotations

from contract_tests.support import FIXTURES
from dlf_status.devtools.replay import BAD_SIGNATURE_FIXTURE, NOT_FOUND_FIXTURE, RECORDED
from dlf_status.entrypoints.demo import JOBS


def test_the_shipped_recordings_are_the_demos_and_no_more() -> None:
    shipped = {entry.name for entry in RECORDED.iterdir()}

    named = {job.fixture for job in JOBS if job.fixture} | {
        NOT_FOUND_FIXTURE,
        BAD_SIGNATURE_FIXTURE,
    }
    assert shipped == {f"{name}.json" for name in named}


def test_each_shipped_recording_is_the_contract_fixture_byte_for_byte() -> None:
    """Edit contract_tests/fixtures/valid, then copy the file into
    handler/dlf_status/devtools/recorded/: the contract suites check only that one."""
    for entry in RECORDED.iterdir():
        assert entry.read_bytes() == (FIXTURES / "valid" / entry.name).read_bytes(), entry.name
