"""The compiled validator reads long arrays a prefix at a time (README: What bounds
memory): jsonschema-rs builds every error before returning the first, so a node list
wrong in every field, read whole, costs hundreds of megabytes."""

from __future__ import annotations

from typing import Any, SupportsIndex

from dlf_status import bootstrap
from dlf_status.domain.contract import MAX_LISTED
from dlf_status.domain.interpret import MAX_NODES
from dlf_status.domain.model import Headers, UpstreamResponse

_BAD_NODE = {"name": 1, "status": 2, "type": 3, "logPath": 4, "jobInstanceId": "x"}


class _RecordingList(list[Any]):
    """A list that remembers the slices taken of it."""

    def __init__(self, items: list[Any]) -> None:
        super().__init__(items)
        self.slices: list[int] = []

    def __getitem__(self, index: SupportsIndex | slice) -> Any:
        if isinstance(index, slice):
            self.slices.append(len(range(*index.indices(len(self)))))
        return super().__getitem__(index)


def _response() -> UpstreamResponse:
    return UpstreamResponse(200, Headers({"Content-Type": "application/json"}), b"{}")


def test_a_node_list_wrong_everywhere_is_read_a_prefix_at_a_time() -> None:
    nodes = _RecordingList([dict(_BAD_NODE, name=index) for index in range(MAX_NODES)])

    report = bootstrap.build_validator().validate(
        _response(), {"name": "job", "status": "NORMAL", "nodes": nodes}
    )

    assert len(report.violations) > MAX_LISTED
    assert nodes.slices, "the node list was validated whole"
    assert max(nodes.slices) < MAX_NODES


def test_a_short_node_list_is_validated_whole_with_every_error() -> None:
    nodes = [dict(_BAD_NODE, name=index) for index in range(3)]

    report = bootstrap.build_validator().validate(
        _response(), {"name": "job", "status": "NORMAL", "nodes": nodes}
    )

    assert {violation.path for violation in report.violations} >= {
        f"$.nodes[{index}].{field}" for index in range(3) for field in ("name", "status")
    }
