"""``copy_json``, and a step's view of the snapshot: the snapshot itself until a write copies it."""

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
    snapshot = {"config": {"a": {"b": 1}}, "foundation": {"locator": "f1", "values": {"x": 1}}}
    before = copy_json(snapshot)
    batch = WriteBatch(snapshot, [{"op": "set_value", "name": "x", "value": 2}])
    assert batch.view["foundation"]["values"]["x"] == 2  # the overlay is seen
    batch.add({"op": "set_value", "name": "y", "value": 3})
    assert batch.view["foundation"]["values"] == {"x": 2, "y": 3}
    assert snapshot == before


def test_write_batch_copies_the_snapshot_only_when_a_write_changes_it() -> None:
    snapshot = {"foundation": {"locator": "f1", "values": {}}}
    batch = WriteBatch(snapshot, None)
    assert batch.view is snapshot  # nothing written: read in place
    batch.add({"op": "set_pxe", "interface": 1, "pxe": None})  # not a value: view unchanged
    assert batch.view is snapshot
    batch.add({"op": "set_value", "name": "x", "value": 1})
    assert batch.view is not snapshot and snapshot["foundation"]["values"] == {}
