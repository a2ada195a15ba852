"""Our transition events as a consumer's code reads them: the CloudEvents Python SDK
(pinned) parses the PutEvents entry's `Detail` of every transition record the product
publishes (tests/support/published.py: schema 1.0 and 1.1, a job gone and back), with
its JSON format (`cloudevents.core`) and the v1 HTTP helpers, and gives back every
attribute and the record unchanged; an event too large for EventBridge, sent with
`dataref` and no `data`, parses too, its `dataref` an extension attribute."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat
from cloudevents.v1.http import from_json

from dlf_status.domain.events import MAX_ENTRY_BYTES, put_events_entry, transition_event
from tests.support.published import TRANSITION, Published

DATAREF = "s3://bucket/transitions/project_id%3Dp/job_name%3D%25%E4%BD%9C.json"


def details(published: dict[str, list[Published]]) -> list[tuple[dict[str, Any], str]]:
    """(record, the Detail our publisher sends) for every published transition record."""
    found = []
    for document in published[TRANSITION]:
        record = document.parsed()
        entry = put_events_entry(transition_event(record), "bus")
        assert entry is not None
        found.append((record, entry["Detail"]))
    assert len(found) >= 4
    return found


def test_the_sdk_reads_every_event_with_every_attribute(
    published: dict[str, list[Published]],
) -> None:
    for record, detail in details(published):
        sent = json.loads(detail)
        event = JSONFormat().read(None, detail)
        attributes = event.get_attributes()
        assert event.get_data() == record
        assert attributes["time"] == datetime.fromisoformat(sent["time"])
        assert {key: attributes[key] for key in sent if key not in ("data", "time")} == {
            key: value for key, value in sent.items() if key not in ("data", "time")
        }
        assert attributes["specversion"] == "1.0"
        legacy = from_json(detail)
        assert (legacy.data, legacy["id"], legacy["subject"]) == (
            record,
            sent["id"],
            sent["subject"],
        )


def test_an_event_sent_by_reference_reads_with_its_dataref(
    published: dict[str, list[Published]],
) -> None:
    record, _ = details(published)[0]
    padded = {**record, "padding": "x" * MAX_ENTRY_BYTES}  # only too large fits by reference
    entry = put_events_entry(transition_event(padded, dataref=DATAREF), "bus")
    assert entry is not None
    assert "data" not in json.loads(entry["Detail"])
    event = JSONFormat().read(None, entry["Detail"])
    assert event.get_data() is None
    assert event.get_attributes()["dataref"] == DATAREF


@pytest.mark.parametrize("missing", ["source", "type"])  # it makes up a missing id
def test_the_sdk_refuses_an_event_without_a_required_attribute(
    published: dict[str, list[Published]], missing: str
) -> None:
    """So that the checks above are not of a parser that accepts anything."""
    _, detail = details(published)[0]
    broken = {key: value for key, value in json.loads(detail).items() if key != missing}
    with pytest.raises(CloudEventValidationError, match=missing):
        JSONFormat().read(None, json.dumps(broken))
