"""The read routes and cheap polling, through the HTTP API over a memory store: routing
by name, query parameters, the fleet's 503, entity tags, 304s and Cache-Control, for
both API Gateway payloads."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlf_status import bootstrap
from dlf_status.domain.model import JobRef
from dlf_status.domain.readmodels import parse_time, query_scope
from dlf_status.entrypoints import startup
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.errors import ConfigurationError, UpstreamUnavailable
from dlf_status.readers import StoreReader
from dlf_status.service import SnapshotWriter
from tests.support.events import http_api_event, rest_api_event
from tests.support.fakes import FakeUpstream, MemoryStore
from tests.support.read_models import assert_valid, observe
from tests.support.root import HEALTHY, fake_service, root_settings

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@dataclass
class MovingClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass
class Deployment:
    api: StatusApi
    store: MemoryStore
    clock: MovingClock
    readers_built: list[StoreReader]
    writer: SnapshotWriter

    def observe(self, name: str, status: str, age: timedelta = timedelta(minutes=1)) -> None:
        observe(self.store, job(name), status, self.clock.moment - age, writer=self.writer)


def job(name: str) -> JobRef:
    return JobRef.parse(PROJECT, name)


def deployment(upstream: FakeUpstream | None = None, stale_after: float = 900.0) -> Deployment:
    store = MemoryStore()
    clock = MovingClock(NOW)
    built: list[StoreReader] = []

    def reader() -> StoreReader:
        built.append(bootstrap.build_store_reader(root_settings(), store=store, clock=clock))
        return built[-1]

    service = fake_service(upstream, store, clock=clock)
    api = StatusApi(service.observe, reader, stale_after=stale_after)
    return Deployment(api, store, clock, built, SnapshotWriter(store))


def fleet_event(**query: str) -> dict[str, Any]:
    return http_api_event(PROJECT, None, route=None, query=query or None)


def body(answer: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(answer["body"])
    return data


def with_header(event: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    event["headers"][name] = value
    return event


# --- routes ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["history", "transitions", "status", "jobs", "a/history", "v1"])
def test_a_job_named_like_a_route_is_that_job_on_every_route(name: str) -> None:
    app = deployment()
    app.observe(name, "NORMAL")

    history = app.api.handle(http_api_event(PROJECT, name, route="history"))
    transitions = app.api.handle(rest_api_event(PROJECT, name, route="transitions"))
    rest_history = app.api.handle(rest_api_event(PROJECT, name, route="history"))

    assert history["statusCode"] == 200, history["body"]
    assert body(history)["job_name"] == name
    assert [d["source"]["job_name"] for d in body(history)["documents"]] == [name]
    assert (transitions["statusCode"], body(transitions)["job_name"]) == (200, name)
    assert body(rest_history) == body(history) | {
        "generated_at": body(rest_history)["generated_at"]
    }


def test_the_fleet_route_answers_the_fleet_document() -> None:
    app = deployment()
    for number, status in enumerate(["NORMAL", "EXCEPTION", "STOPPED"]):
        app.observe(f"job-{number}", status)

    answer = app.api.handle(fleet_event())

    assert answer["statusCode"] == 200
    document = body(answer)
    assert_valid(document, "fleet.v1.schema.json")
    assert [row["job_name"] for row in document["jobs"]] == ["job-0", "job-1", "job-2"]
    assert document["summary"]["overall"] == "EXCEPTION"
    headers = answer["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "max-age=30"  # STALE_AFTER 900 / 30
    assert headers["Vary"] == "workspace"
    assert headers["ETag"].startswith('W/"')


def test_a_read_route_built_at_its_first_request_and_only_once() -> None:
    app = deployment()

    app.api.handle(http_api_event(PROJECT, "job_sms"))  # the status route
    built_before = len(app.readers_built)
    app.api.handle(fleet_event())
    app.api.handle(http_api_event(PROJECT, "job", route="history"))

    assert (built_before, len(app.readers_built)) == (0, 1)


def test_without_a_reader_only_the_status_route_is_served() -> None:
    api = StatusApi(fake_service().observe)

    answer = api.handle(fleet_event())

    assert answer["statusCode"] == 404
    assert body(answer)["type"] == "urn:dlf-status:problem:route-not-found"


def test_a_function_that_could_not_start_answers_the_read_routes_with_the_problem() -> None:
    problem = ConfigurationError("SNAPSHOT_URI is broken")
    api = StatusApi(startup.refuse(problem), startup.refuse_reads(problem))

    answer = api.handle(fleet_event())

    assert answer["statusCode"] == 500
    assert body(answer)["type"] == "urn:dlf-status:problem:configuration"
    assert answer["headers"]["Cache-Control"] == "no-store"


# --- query parameters ----------------------------------------------------------------------


def test_fleet_filters_and_pages_from_the_query() -> None:
    app = deployment()
    for number in range(5):
        app.observe(f"job-{number}", "EXCEPTION" if number % 2 else "NORMAL")

    first = body(app.api.handle(fleet_event(status="exception", limit="1")))
    second = body(
        app.api.handle(fleet_event(status="exception", limit="1", cursor=first["next_cursor"]))
    )

    assert [row["job_name"] for row in first["jobs"] + second["jobs"]] == ["job-1", "job-3"]
    assert second["next_cursor"] is None
    assert first["summary"]["job_count"] == 5


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"fail-on": "EXCEPTION"}, "query"),  # misspelt: never silently ignored
        ({"limit": "0"}, "limit"),
        ({"limit": "1,2"}, "limit"),  # a parameter given twice
        ({"limit": ""}, "limit"),  # left out is the default; empty is refused
        ({"status": "RUNNING"}, "status"),
        ({"fail_on": "EXCEPTION,"}, "fail_on"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_field(query: dict[str, str], field: str) -> None:
    answer = deployment().api.handle(fleet_event(**query))

    assert answer["statusCode"] == 400
    assert body(answer)["field"] == field
    assert answer["headers"]["Cache-Control"] == "no-store"
    assert "ETag" not in answer["headers"]


def test_a_rest_api_parameter_given_twice_is_read_whole_not_the_last_one() -> None:
    app = deployment()

    answer = app.api.handle(
        rest_api_event(PROJECT, None, route=None, query={"limit": ["1", "500"]})
    )

    assert (answer["statusCode"], body(answer)["field"]) == (400, "limit")


@pytest.mark.parametrize(
    ("route", "query", "field"),
    [
        ("history", {"from": "2026-11-25"}, "from"),
        ("history", {"to": "2026-11-25T08:00:00"}, "to"),
        ("history", {"from": "2026-11-25T09:00:00Z", "to": "2026-11-25T08:00:00Z"}, "from"),
        ("history", {"limit": "101"}, "limit"),
        ("history", {"from": ""}, "from"),
        ("history", {"to": ""}, "to"),
        ("history", {"since": "2026-11-25T08:00:00Z"}, "query"),
        ("transitions", {"since": "yesterday"}, "since"),
        ("transitions", {"limit": "501"}, "limit"),
        ("transitions", {"since": ""}, "since"),
        ("transitions", {"to": "2026-11-25T08:00:00Z"}, "query"),
    ],
)
def test_history_and_transitions_check_their_query(
    route: str, query: dict[str, str], field: str
) -> None:
    answer = deployment().api.handle(http_api_event(PROJECT, "job", route=route, query=query))

    assert (answer["statusCode"], body(answer)["field"]) == (400, field)


def test_history_and_transitions_read_their_bounds_from_the_query() -> None:
    app = deployment()
    for hours, status in ((5, "NORMAL"), (3, "EXCEPTION"), (1, "NORMAL")):
        app.observe("job", status, timedelta(hours=hours))
    since = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+00:00")

    history = body(
        app.api.handle(http_api_event(PROJECT, "job", route="history", query={"to": until}))
    )
    transitions = body(
        app.api.handle(http_api_event(PROJECT, "job", route="transitions", query={"since": since}))
    )

    assert_valid(history, "history-page.v1.schema.json")
    assert_valid(transitions, "transitions-page.v1.schema.json")
    assert [d["job"]["status"] for d in history["documents"]] == ["EXCEPTION", "NORMAL"]
    assert [[c["to"] for c in r["changes"]] for r in transitions["records"]] == [["NORMAL"]]


# --- the fleet's 503 -------------------------------------------------------------------------


def test_fail_on_answers_503_with_the_fleet_for_any_job_of_the_whole_fleet() -> None:
    app = deployment()
    app.observe("a-ok", "NORMAL")
    app.observe("z-down", "EXCEPTION")

    failing = app.api.handle(fleet_event(fail_on="EXCEPTION,UNKNOWN", limit="1"))
    passing = app.api.handle(fleet_event(fail_on="STOPPED", limit="1"))

    assert failing["statusCode"] == 503
    document = body(failing)
    assert_valid(document, "fleet.v1.schema.json")
    assert (document["failing"], [row["job_name"] for row in document["jobs"]]) == (True, ["a-ok"])
    assert failing["headers"]["Content-Type"] == "application/json"
    assert passing["statusCode"] == 200


def test_a_failing_fleet_is_never_a_304() -> None:
    """Preconditions apply to 2xx answers only (RFC 9110 13.2.1): an uptime check that
    sends the tag it last saw still sees the failure."""
    app = deployment()
    app.observe("down", "EXCEPTION")
    first = app.api.handle(fleet_event(fail_on="EXCEPTION"))

    again = app.api.handle(with_header(fleet_event(fail_on="EXCEPTION"), "if-none-match", "*"))
    same_tag = app.api.handle(
        with_header(fleet_event(fail_on="EXCEPTION"), "if-none-match", first["headers"]["ETag"])
    )

    assert [first["statusCode"], again["statusCode"], same_tag["statusCode"]] == [503] * 3
    assert body(same_tag)["failing"] is True


def test_stale_jobs_fail_a_fleet_asked_to_fail_on_stale() -> None:
    app = deployment(stale_after=600)
    app.observe("fresh", "NORMAL", timedelta(minutes=1))
    app.observe("silent", "NORMAL", timedelta(minutes=20))

    answer = app.api.handle(fleet_event(fail_on="STALE"))

    assert answer["statusCode"] == 503
    assert [row["stale"] for row in body(answer)["jobs"]] == [False, True]
    assert body(answer)["stale_after_seconds"] == 600
    assert answer["headers"]["Cache-Control"] == "max-age=20"


# --- entity tags and 304 ---------------------------------------------------------------------


def conditional(app: Deployment, event: dict[str, Any], tag: str) -> dict[str, Any]:
    return app.api.handle(with_header(event, "if-none-match", tag))


@pytest.mark.parametrize("form", ["{tag}", "{strong}", '"other", {tag}', 'W/"x",{strong} ', "*"])
def test_a_matching_if_none_match_is_a_304_without_a_body(form: str) -> None:
    app = deployment()
    app.observe("job", "NORMAL")
    first = app.api.handle(fleet_event())
    tag = first["headers"]["ETag"]

    answer = conditional(app, fleet_event(), form.format(tag=tag, strong=tag.removeprefix("W/")))

    assert answer["statusCode"] == 304
    assert answer["body"] == ""
    assert "Content-Type" not in answer["headers"]
    for name in ("ETag", "Cache-Control", "Vary"):
        assert answer["headers"][name] == first["headers"][name]
    assert answer["headers"]["X-Correlation-Id"]


@pytest.mark.parametrize("form", ['"nope"', "W/{tag}", "{tag}x", "garbage"])
def test_another_or_unreadable_if_none_match_gets_the_whole_answer(form: str) -> None:
    app = deployment()
    app.observe("job", "NORMAL")
    tag = app.api.handle(fleet_event())["headers"]["ETag"]

    answer = conditional(app, fleet_event(), form.format(tag=tag.removeprefix("W/")[:-1]))

    assert answer["statusCode"] == 200
    assert body(answer)["jobs"]


@pytest.mark.parametrize(
    "form",
    [
        "{tag}x",
        "{tag}\x00",
        '{tag}"',
        "{tag};q=1",
        '"other" {tag}',
        "{tag}W/",
        '"*"',
        "{tag}, junk",
        "junk, {tag}",
    ],
)
def test_a_matching_tag_run_into_other_text_is_no_match(form: str) -> None:
    """The header is not a list of entity tags: ignored whole, as a malformed one is
    (RFC 9110 13.1.2), even when it starts with the answer's own tag, wherever the
    member that is no tag stands."""
    app = deployment()
    app.observe("job", "NORMAL")
    tag = app.api.handle(fleet_event())["headers"]["ETag"]

    answer = conditional(app, fleet_event(), form.format(tag=tag))

    assert answer["statusCode"] == 200
    assert body(answer)["jobs"]


def test_the_fleet_tag_ignores_the_clock_but_not_what_it_makes_stale() -> None:
    app = deployment(stale_after=600)
    app.observe("job", "NORMAL", timedelta(minutes=1))
    first = app.api.handle(fleet_event())

    app.clock.moment += timedelta(minutes=3)  # ages change, nothing else
    later = app.api.handle(fleet_event())
    app.clock.moment += timedelta(minutes=7)  # the job is now stale
    stale = app.api.handle(fleet_event())

    assert body(first)["jobs"][0]["age_seconds"] != body(later)["jobs"][0]["age_seconds"]
    assert later["headers"]["ETag"] == first["headers"]["ETag"]
    assert body(stale)["jobs"][0]["stale"] is True
    assert stale["headers"]["ETag"] != first["headers"]["ETag"]
    assert conditional(app, fleet_event(), first["headers"]["ETag"])["statusCode"] == 200


def test_the_fleet_tag_follows_the_store_and_the_query() -> None:
    app = deployment()
    app.observe("a", "NORMAL")
    app.observe("b", "NORMAL")
    tag = app.api.handle(fleet_event())["headers"]["ETag"]
    page_tag = app.api.handle(fleet_event(limit="1"))["headers"]["ETag"]

    app.observe("b", "EXCEPTION", timedelta(seconds=30))  # on page two, and in the summary
    changed = app.api.handle(fleet_event())["headers"]["ETag"]
    filtered = app.api.handle(fleet_event(status="NORMAL"))["headers"]["ETag"]

    assert len({tag, page_tag, changed, filtered}) == 4


def test_a_history_page_keeps_its_tag_until_an_object_is_added() -> None:
    app = deployment()
    app.observe("job", "NORMAL", timedelta(hours=2))
    event = http_api_event(PROJECT, "job", route="history")
    first = app.api.handle(event)

    app.clock.moment += timedelta(minutes=5)  # `to` (now) moves; the page does not
    same = conditional(
        app, http_api_event(PROJECT, "job", route="history"), first["headers"]["ETag"]
    )
    app.observe("job", "EXCEPTION", timedelta(minutes=1))
    added = conditional(
        app, http_api_event(PROJECT, "job", route="history"), first["headers"]["ETag"]
    )

    assert same["statusCode"] == 304
    assert added["statusCode"] == 200
    assert [d["job"]["status"] for d in body(added)["documents"]] == ["EXCEPTION", "NORMAL"]


def test_a_transitions_page_keeps_its_tag_until_a_record_is_added() -> None:
    app = deployment()
    app.observe("job", "NORMAL", timedelta(hours=2))
    app.observe("job", "EXCEPTION", timedelta(hours=1))
    first = app.api.handle(http_api_event(PROJECT, "job", route="transitions"))

    app.clock.moment += timedelta(minutes=1)
    same = conditional(
        app, http_api_event(PROJECT, "job", route="transitions"), first["headers"]["ETag"]
    )
    app.observe("job", "NORMAL", timedelta(seconds=10))
    added = conditional(
        app, http_api_event(PROJECT, "job", route="transitions"), first["headers"]["ETag"]
    )

    assert (same["statusCode"], added["statusCode"]) == (304, 200)
    assert len(body(added)["records"]) == 2


def test_rest_api_events_get_304s_too() -> None:
    app = deployment()
    app.observe("job", "NORMAL")
    first = app.api.handle(rest_api_event(PROJECT, "job", route="history"))

    answer = app.api.handle(
        rest_api_event(
            PROJECT,
            "job",
            route="history",
            headers={"If-None-Match": ['"x"', first["headers"]["ETag"]]},
        )
    )

    assert answer["statusCode"] == 304


# --- the status route ------------------------------------------------------------------------


def test_the_status_route_answers_304_for_its_content_hash_but_still_asks_upstream() -> None:
    upstream = FakeUpstream([HEALTHY])
    app = deployment(upstream)
    first = app.api.handle(http_api_event(PROJECT, "job_sms"))

    app.clock.moment += timedelta(minutes=1)
    again = app.api.handle(
        http_api_event(PROJECT, "job_sms", headers={"if-none-match": first["headers"]["ETag"]})
    )

    assert again["statusCode"] == 304
    assert again["body"] == ""
    assert again["headers"]["ETag"] == first["headers"]["ETag"]
    assert again["headers"]["Cache-Control"] == "no-cache"
    assert again["headers"]["X-Dlf-Snapshot"] == "unchanged"
    assert len(upstream.calls) == 2  # a 304 saves the body, not the upstream call


def test_a_stale_answer_has_a_tag_of_its_own() -> None:
    upstream = FakeUpstream([HEALTHY, UpstreamUnavailable("503 from the upstream")])
    app = deployment(upstream)
    fresh = app.api.handle(http_api_event(PROJECT, "job_sms"))

    stale = app.api.handle(
        http_api_event(PROJECT, "job_sms", headers={"if-none-match": fresh["headers"]["ETag"]})
    )

    assert stale["statusCode"] == 200
    assert body(stale)["stale"] is True
    assert stale["headers"]["ETag"] == fresh["headers"]["ETag"][:-1] + '-stale"'


def test_a_problem_is_never_a_304() -> None:
    app = deployment(FakeUpstream([UpstreamUnavailable("503 from the upstream")]))

    answer = app.api.handle(http_api_event(PROJECT, "job_sms", headers={"if-none-match": "*"}))

    assert answer["statusCode"] == 502
    assert answer["headers"]["Cache-Control"] == "no-store"
    assert "ETag" not in answer["headers"]


# --- cursors and times an adversary writes -------------------------------------------------


def _forged(kind: str, position: str, *scope: str | None, version: object = 1) -> str:
    """A cursor no page returned, bound to the query it is sent with (the scope is a
    public digest of the query: anyone can compute it)."""
    payload = {"v": version, "k": kind, "s": query_scope(kind, *scope), "p": position}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


def test_a_forged_history_cursor_past_to_never_shows_a_document_after_to() -> None:
    app = deployment()
    for hours, status in ((50, "NORMAL"), (30, "EXCEPTION"), (1, "NORMAL")):
        app.observe("job", status, timedelta(hours=hours))
    to = "2026-11-24T12:00:00Z"  # the day before the third document's
    scope = (PROJECT, None, "job", None, parse_time(to, "to").isoformat())  # type: ignore[union-attr]
    cursor = _forged("history", "date=9999-12-31/~", *scope)

    forged = body(
        app.api.handle(
            http_api_event(PROJECT, "job", route="history", query={"to": to, "cursor": cursor})
        )
    )
    honest = body(app.api.handle(http_api_event(PROJECT, "job", route="history", query={"to": to})))

    assert [d["job"]["status"] for d in honest["documents"]] == ["EXCEPTION", "NORMAL"]
    assert forged["documents"] == honest["documents"]


def test_a_forged_transitions_cursor_never_reaches_before_since() -> None:
    app = deployment()
    for hours, status in ((5, "NORMAL"), (3, "EXCEPTION"), (1, "NORMAL")):
        app.observe("job", status, timedelta(hours=hours))
    since = "2026-11-25T09:30:00Z"  # after the first change
    scope = (PROJECT, None, "job", parse_time(since, "since").isoformat())  # type: ignore[union-attr]
    cursor = _forged("transitions", "date=0001-01-01/00010101T000000000Z", *scope)

    records = body(
        app.api.handle(
            http_api_event(
                PROJECT, "job", route="transitions", query={"since": since, "cursor": cursor}
            )
        )
    )["records"]

    assert [[c["to"] for c in r["changes"]] for r in records] == [["NORMAL"]]


@pytest.mark.parametrize("version", [True, 1.0, "1", [1]])
def test_a_cursor_whose_version_only_equals_1_in_python_is_refused(version: object) -> None:
    app = deployment()
    app.observe("job", "NORMAL")
    cursor = _forged(
        "history", "date=2026-11-25/~", PROJECT, None, "job", None, None, version=version
    )

    answer = app.api.handle(
        http_api_event(PROJECT, "job", route="history", query={"cursor": cursor})
    )

    assert (answer["statusCode"], body(answer)["field"]) == (400, "cursor")


@pytest.mark.parametrize(
    ("value", "instant"),
    [
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00+00:00"),
        ("2016-12-31T23:59:60.999Z", "2017-01-01T00:00:00+00:00"),
        ("2016-12-31t15:59:60-08:00", "2017-01-01T00:00:00+00:00"),
        ("2026-11-25T08:00:00-00:00", "2026-11-25T08:00:00+00:00"),
        ("2026-11-25t08:00:00.123456789z", "2026-11-25T08:00:00.123000+00:00"),
    ],
)
def test_rfc_3339_edge_forms_are_the_instants_they_name(value: str, instant: str) -> None:
    moment = parse_time(value, "from")

    assert moment is not None
    assert moment.isoformat() == instant


@pytest.mark.parametrize("value", ["2026-11-25T08:00:60Z", "2016-12-31T23:58:60Z"])
def test_a_60th_second_outside_a_leap_second_is_a_400(value: str) -> None:
    answer = deployment().api.handle(
        http_api_event(PROJECT, "job", route="history", query={"from": value})
    )

    assert (answer["statusCode"], body(answer)["field"]) == (400, "from")
