"""``process.tune_gc``: the collector is set for a long-running server."""

from __future__ import annotations

import gc

from contractor.servicekit.process import tune_gc


def test_tune_gc_freezes_what_exists_and_raises_the_young_threshold() -> None:
    threshold = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_freeze_count() > 10_000  # the modules and classes loaded by now
        assert gc.get_threshold() == (20_000, 20, 20)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
