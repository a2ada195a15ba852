"""Transition records as CloudEvents 1.0, for an EventBridge bus. Pure.

The event is the structured JSON form of CloudEvents, carried whole as the PutEvents
entry's `Detail`, so a rule matches the record's fields under `detail.data`:

    {"source": ["dlf-status"],
     "detail-type": ["dlf-status.job.status-changed"],
     "detail": {"data": {"changes": {"to": ["EXCEPTION"]}}}}

* `id`: 32 hex digits of the sha256 of the record's identity (project, workspace,
  job, `observed_at`, `content_hash`, `previous_content_hash`): one transition, one
  id, whoever publishes it and however often (a retry, a repair by the next writer),
  so consumers drop duplicates by id. The content hashes alone would not do: a job
  that goes A -> B -> A -> B with unchanged counters repeats the same pair of hashes,
  and those are two transitions.
* `source`: `urn:dlf-status:project:<project_id>`, with `:workspace:<workspace>` for a
  job in a workspace (ids are letters, digits, '-' and '_', so the URN needs no
  escaping); `source` + `id` is unique, as CloudEvents asks.
* `type`: `dlf-status.job.status-changed`. CloudEvents suggests a reverse-DNS prefix
  of the organisation that defines the event; dlf-status owns no domain, and a
  `com.huaweicloud…` prefix would tell on-call that Huawei sent it. The version of
  the payload is in `dataschema`.
* `subject`: the job name as requested (`source.job_name`), verbatim.
* `time`: the record's `observed_at`, when the new status was seen.
* `dataschema`: the `$id` of `schemas/status-transition.v1.schema.json`.
* `datacontenttype`: `application/json`; `data`: the record, unchanged.
* `dataref` (the CloudEvents extension): where the record is stored, when the caller
  says. An entry beyond EventBridge's 256 KiB then drops `data` and keeps `dataref`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypedDict

from dlf_status.domain import jsoncodec

if TYPE_CHECKING:
    from dlf_status.domain.ports import RemainingSeconds

SPEC_VERSION: Final = "1.0"
EVENT_TYPE: Final = "dlf-status.job.status-changed"
BUS_SOURCE: Final = "dlf-status"  # the PutEvents entry's Source: what rules match first
SOURCE_PREFIX: Final = "urn:dlf-status:project:"
TRANSITION_SCHEMA_ID: Final = "urn:dlf-status:schema:status-transition:v1"
CONTENT_TYPE: Final = "application/json"
# EventBridge's limit for one entry: Source, DetailType, Detail and Time together.
MAX_ENTRY_BYTES: Final = 256 * 1024
_TIME_BYTES: Final = 14  # what EventBridge counts for an entry's Time


class CloudEvent(TypedDict, total=False):
    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: str
    dataschema: str
    datacontenttype: str
    dataref: str
    data: Mapping[str, Any]


class PutEventsEntry(TypedDict):
    Source: str
    DetailType: str
    Detail: str
    EventBusName: str
    Time: datetime


def event_id(record: Mapping[str, Any]) -> str:
    source = record.get("source") or {}
    identity = [
        source.get("project_id"),
        source.get("workspace"),
        source.get("job_name"),
        record.get("observed_at"),
        record.get("content_hash"),
        record.get("previous_content_hash"),
    ]
    return hashlib.sha256(jsoncodec.canonical_bytes(identity)).hexdigest()[:32]


def event_source(record: Mapping[str, Any]) -> str:
    source = record.get("source") or {}
    project = source.get("project_id") or "-"
    workspace = source.get("workspace")
    return SOURCE_PREFIX + project + ("" if workspace is None else f":workspace:{workspace}")


def transition_event(record: Mapping[str, Any], *, dataref: str | None = None) -> CloudEvent:
    event = CloudEvent(
        specversion=SPEC_VERSION,
        id=event_id(record),
        source=event_source(record),
        type=EVENT_TYPE,
        time=str(record["observed_at"]),
        dataschema=TRANSITION_SCHEMA_ID,
        datacontenttype=CONTENT_TYPE,
        data=record,
    )
    subject = (record.get("source") or {}).get("job_name")
    if isinstance(subject, str):
        event["subject"] = subject
    if dataref is not None:
        event["dataref"] = dataref
    return event


def entry_size(entry: PutEventsEntry) -> int:
    """The size EventBridge counts against MAX_ENTRY_BYTES."""
    return _TIME_BYTES + sum(
        len(entry[name].encode("utf-8")) for name in ("Source", "DetailType", "Detail")
    )


def put_events_entry(event: CloudEvent, bus_name: str) -> PutEventsEntry | None:
    """The PutEvents entry carrying `event`; without `data` when only that makes it fit
    and the event has a `dataref`; None when it cannot fit."""
    entry = _entry(event, bus_name)
    if entry_size(entry) <= MAX_ENTRY_BYTES:
        return entry
    if "dataref" not in event:
        return None
    slim = CloudEvent(**{key: value for key, value in event.items() if key != "data"})  # type: ignore[typeddict-item]
    entry = _entry(slim, bus_name)
    return entry if entry_size(entry) <= MAX_ENTRY_BYTES else None


def _entry(event: CloudEvent, bus_name: str) -> PutEventsEntry:
    return PutEventsEntry(
        Source=BUS_SOURCE,
        DetailType=EVENT_TYPE,
        Detail=jsoncodec.canonical_bytes(event).decode("utf-8"),
        EventBusName=bus_name,
        Time=datetime.fromisoformat(event["time"]),
    )


class NoEvents:
    """The publisher without an event bus: nothing is sent, the id is still the event's."""

    worst_case_seconds: Final = 0.0

    def publish_transition(
        self,
        record: Mapping[str, Any],
        *,
        dataref: str | None = None,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> str:
        return event_id(record)
