"""What every suite checks about the transition records it makes dlf-status write.

* each record is valid against `schemas/status-transition.v1.schema.json`;
* the records of one job form one chain that matches the versions latest.json held
  (a gone document among them holds no status: the job's change goes to null):
  starting from the first version's statuses, each record's `from` values are the
  current statuses, applying its `to` values gives the next ones, and there is
  exactly one record for each pair of consecutive versions whose statuses differ
  (no phantom, no missed transition), linked by `previous_observed_at`.

Chain order is `observed_at`, then the content hash for observations made in the
same millisecond (the order in which latest.json accepts them).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from dlf_status.domain.gone import is_gone_document, statuses_of
from dlf_status.domain.normalize import content_hash
from dlf_status.domain.transitions import status_changes
from tests.support.schemas import validator

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "status-transition.v1.schema.json"

_COMPARED = (
    "observed_at",
    "previous_observed_at",
    "content_hash",
    "previous_content_hash",
    "changes",
)
# (scope, node name, status, status_raw), as a multiset: nodes may share a name.
Statuses = Counter[tuple[str, str | None, str, str | None]]


def transition_schema() -> Draft202012Validator:
    """The record schema's strict form: a member it does not name fails."""
    return validator(SCHEMA_PATH.name)


def assert_valid_records(records: Iterable[Mapping[str, Any]]) -> None:
    """Every record is valid against the published schema."""
    for record in records:
        errors = [error.message for error in transition_schema().iter_errors(record)]
        assert errors == [], (errors, record)
        # 1.1 says a job change may be null on a side (a job gone or back); only
        # records that use it say so.
        job_null = any(
            change["scope"] == "job" and None in (change["from"], change["to"])
            for change in record["changes"]
        )
        assert record["schema_version"] == ("1.1" if job_null else "1.0"), record


def _statuses(document: Mapping[str, Any]) -> Statuses:
    if is_gone_document(document):
        return Counter()  # a gone job: no status at all
    found: Statuses = Counter(
        [("job", None, document["job"]["status"], document["job"]["status_raw"])]
    )
    for node in document["nodes"]:
        name = node["name"]
        if isinstance(name, str):
            found[("node", name, node["status"], node["status_raw"])] += 1
    return found


def assert_chain(
    records: Sequence[Mapping[str, Any]], versions: Sequence[Mapping[str, Any]]
) -> None:
    """`records`: one job's transition records, in any order. `versions`: the
    documents latest.json held, in the order it held them (at least one)."""
    assert_valid_records(records)
    # Versions of latest.json grow in (observed_at, content hash): two observations
    # in one millisecond are ordered by their content.
    ordered = sorted(records, key=lambda record: (record["observed_at"], record["content_hash"]))
    moments = {(record["observed_at"], record["content_hash"]) for record in ordered}
    assert len(moments) == len(ordered), "two records of one version"

    # The chain on its own: each `from` is the state the previous records left.
    state = _statuses(versions[0])
    previous_observed_at = versions[0]["observed_at"]
    for record in ordered:
        assert record["previous_observed_at"] >= previous_observed_at, record
        assert record["previous_observed_at"] <= record["observed_at"], record
        for change in record["changes"]:
            where = (change["scope"], change["node"])
            if change["from"] is not None:
                gone = (*where, change["from"], change["from_raw"])
                assert state[gone] > 0, (where, state, record)
                state[gone] -= 1
            if change["to"] is not None:
                state[(*where, change["to"], change["to_raw"])] += 1
        state = +state  # drop what went to zero
        previous_observed_at = record["observed_at"]
    assert state == _statuses(versions[-1]), "the records do not end where latest.json is"

    # ...and it is the history's: one record per pair of versions whose statuses differ.
    expected = []
    for before, after in itertools.pairwise(versions):
        changes = status_changes(statuses_of(before), statuses_of(after))
        if changes:
            expected.append(
                {
                    "observed_at": after["observed_at"],
                    "previous_observed_at": before["observed_at"],
                    "content_hash": content_hash(after),
                    "previous_content_hash": content_hash(before),
                    "changes": changes,
                }
            )
    assert [{key: record[key] for key in _COMPARED} for record in ordered] == expected
