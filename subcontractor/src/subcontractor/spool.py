"""Outcomes on disk until foreman acknowledges them (foreman.md §8.4 step 5).

Each outcome is written to ``<state_dir>/spool/<task>-<attempt>.json`` and fsynced before it
is posted, and deleted when foreman records it or when it can never be accepted. Outcomes
left behind by a crash are posted at the next start, before registering.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import pydantic

from subcontractor.wire import Outcome

log = logging.getLogger("subcontractor.spool")


class Spool:
    """A directory of outcomes awaiting acknowledgement."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "spool"

    def _path(self, outcome: Outcome) -> Path:
        return self.directory / f"{outcome.task_id}-{outcome.attempt}.json"

    def write(self, outcome: Outcome) -> None:
        """Persist one outcome durably."""
        self.write_many([outcome])

    def write_many(self, outcomes: Sequence[Outcome]) -> None:
        """Persist outcomes: each written, fsynced and renamed; the directory fsynced once."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for outcome in outcomes:
            final = self._path(outcome)
            temporary = final.with_suffix(".tmp")
            with temporary.open("w", encoding="utf-8") as handle:
                handle.write(outcome.model_dump_json())
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(final)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def delete(self, outcome: Outcome) -> None:
        """Forget an outcome (acknowledged or never acceptable)."""
        self._path(outcome).unlink(missing_ok=True)

    def count(self) -> int:
        """Outcomes waiting for acknowledgement on disk."""
        return len(list(self.directory.glob("*.json"))) if self.directory.is_dir() else 0

    def load(self) -> list[Outcome]:
        """Every spooled outcome, oldest file first; unreadable files are set aside."""
        if not self.directory.is_dir():
            return []
        files = sorted(self.directory.glob("*.json"), key=lambda path: path.stat().st_mtime)
        outcomes = []
        for path in files:
            try:
                outcomes.append(Outcome.model_validate_json(path.read_bytes()))
            except (OSError, pydantic.ValidationError) as exc:
                log.warning("unreadable spool file %s set aside: %s", path.name, exc)
                path.replace(path.with_suffix(".bad"))
        return outcomes
