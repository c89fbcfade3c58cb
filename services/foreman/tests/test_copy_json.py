"""``writes.copy_json``: a step's view of the snapshot is its own deep copy."""

from __future__ import annotations

from contractor.foreman.runner.writes import WriteBatch
from contractor.servicekit.jsontree import copy_json


def test_copy_is_equal_and_independent_at_every_level() -> None:
    snapshot = {"config": {"ports": [80, {"tls": True}]}, "structure": None, "n": 1.5}
    copied = copy_json(snapshot)
    assert copied == snapshot
    copied["config"]["ports"][1]["tls"] = False
    copied["config"]["ports"].append(443)
    assert snapshot == {"config": {"ports": [80, {"tls": True}]}, "structure": None, "n": 1.5}


def test_write_batch_never_changes_the_jobs_snapshot() -> None:
    snapshot = {"config": {"a": {"b": 1}}, "foundation": {"values": {}}}
    batch = WriteBatch(snapshot, None)
    batch.view["config"]["a"]["b"] = 2
    assert snapshot["config"]["a"]["b"] == 1
