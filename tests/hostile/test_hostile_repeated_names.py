"""A repeated member name in what the list endpoint and the status call answer, served
over loopback HTTP to `dlf-status jobs` and `dlf-status poll --discover`: the listing
fails with the name (never a list that lost a job), and a job that leaves the list is
not marked gone on an error answer that repeats a name (README: "A hostile upstream")."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status.entrypoints.cli import main
from tests.hostile.hostile_json import Repeated, json_values, repeated_names
from tests.support.job_list_server import JSON, SimulatedJobList

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
_STATUS = re.compile(rf"^/v1/{PROJECT}/jobs/(?P<name>[^/]+)/status$")
_PAGE = {
    "total": 2,
    "jobs": [SimulatedJobList(["a"]).item("a"), SimulatedJobList(["b"]).item("b")],
}


@pytest.fixture
def upstream(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver
    httpserver.check()


@pytest.fixture
def environment(
    upstream: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    values = {
        "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
        "DLF_AK": "CLIACCESSKEY",
        "DLF_SK": "cli-sk-not-a-secret",
        "DLF_MAX_ATTEMPTS": "1",
        "SNAPSHOT_URI": str(tmp_path / "snapshots"),
    }
    with monkeypatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        yield tmp_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(repeated=repeated_names(json_values.map(lambda extra: {**_PAGE, "x": extra})))
def test_a_list_page_that_repeats_a_name_fails_the_listing_by_name(
    repeated: Repeated,
    upstream: HTTPServer,
    environment: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upstream.clear()
    upstream.expect_request(re.compile(rf"^/v1/{PROJECT}/jobs$")).respond_with_data(
        repeated.text, headers=JSON
    )

    for argv in (["jobs", PROJECT], ["jobs", PROJECT, "--json"]):
        code, out, err = run(argv, capsys)

        assert (code, out) == (4, ""), err
        assert err.count("\n") == 1
        assert "job list page repeats the member" in err
        assert repeated.path in err or len(repeated.path) > 60 or not repeated.path.isprintable()

    code, out, err = run(["poll", "--discover", PROJECT], capsys)
    assert code == 1
    assert out.splitlines()[0].endswith("1 jobs, 0 ok, 1 failed, 0 not reached")
    assert "UpstreamBadResponse  discovery of project" in out  # the table cuts the detail


class Upstream:
    """The list of `names`, and each listed job's status; a job off the list answers
    `gone_answer` (a 400)."""

    def __init__(self, names: list[str], gone_answer: bytes) -> None:
        self.listing = SimulatedJobList(names)
        self.gone_answer = gone_answer

    def __call__(self, request: Request) -> Response:
        match = _STATUS.match(request.path)
        if match is None:
            return self.listing.werkzeug_handler(request)
        if match["name"] in self.listing.names:
            body = json.dumps({"name": match["name"], "status": "NORMAL"})
            return Response(body, status=200, headers=JSON)
        return Response(self.gone_answer, status=400, headers=JSON)


def test_a_job_off_the_list_is_not_gone_on_an_error_answer_that_repeats_a_name(
    upstream: HTTPServer, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = Upstream(["a", "b"], b'{"error_code":"DLF.0001","error_code":"DLF.0100"}')
    upstream.expect_request(re.compile(rf"^/v1/{PROJECT}/jobs.*")).respond_with_handler(served)
    assert run(["poll", "--discover", PROJECT], capsys)[0] == 0
    served.listing.names.remove("b")

    code, out, _ = run(["poll", "--discover", PROJECT], capsys)

    assert code == 1
    assert out.splitlines()[0].endswith("2 jobs, 1 ok, 1 failed, 0 not reached")
    assert "UpstreamBadResponse  DataArts Studio's error answer (HTTP 400) repeats" in out
    served.gone_answer = b'{"error_code":"DLF.0100","detail":{"k":1,"k":2}}'  # at any depth
    assert run(["poll", "--discover", PROJECT], capsys)[0] == 1
    served.gone_answer = b'{"error_code":"DLF.0100","detail":{"k":1,"K":2}}'
    code, out, _ = run(["poll", "--discover", PROJECT], capsys)
    assert code == 0
    assert out.splitlines()[0].endswith("1 gone")
