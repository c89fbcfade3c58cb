"""``python -m contractor.foreman serve``: the collector is set before the server runs."""

from __future__ import annotations

import gc
from typing import Any

import pytest
import uvicorn
from contractor.foreman.__main__ import main


def test_serve_tunes_the_collector_before_the_server_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    seen: list[tuple[int, int]] = []
    monkeypatch.setattr(
        uvicorn, "run", lambda *a, **k: seen.append((gc.get_freeze_count(), gc.get_threshold()[0]))
    )
    monkeypatch.setenv("FOREMAN_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'f.sqlite3'}")
    monkeypatch.setenv("FOREMAN_DEV_MODE", "true")
    threshold = gc.get_threshold()
    try:
        assert main(["serve", "--port", "0"]) == 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    ((frozen, young),) = seen
    assert frozen > 10_000 and young == 20_000
