"""Outcomes on disk until foreman acknowledges them (foreman.md §8.4 step 5).

Outcomes are group-committed: each batch goes to one ``<state_dir>/spool/<name>.jsonl`` file
(one outcome per line), written under a temporary name, fsynced, renamed, and the directory
fsynced, before any of them is posted. The file is deleted once every outcome in it has been
answered (recorded, or dropped as never acceptable); until then an in-memory index says which
of its outcomes are still waiting. Answers are not written down, so after a crash every
outcome of a file still on disk is posted again at the next start, before registering; foreman
answers "already recorded" (or drops a stale one) for those it had settled. Single-outcome
``<task>-<attempt>.json`` files from earlier versions are read the same way.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import pydantic

from subcontractor.wire import Outcome

log = logging.getLogger("subcontractor.spool")

Key = tuple[str, int]  # (task id, attempt): what identifies one outcome


def _key(outcome: Outcome) -> Key:
    return outcome.task_id, outcome.attempt


class Spool:
    """A directory of outcome batches, and which of their outcomes await acknowledgement.

    The agent calls ``write_many`` and ``remove`` in worker threads and ``answered`` on the
    event loop; the index has a lock so that they may overlap.
    """

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "spool"
        self._lock = threading.Lock()
        self._waiting: dict[str, set[Key]] = {}  # file name -> keys not yet answered
        self._files: dict[Key, set[str]] = {}  # key -> the files holding it (usually one)

    def write(self, outcome: Outcome) -> None:
        """Persist one outcome durably."""
        self.write_many([outcome])

    def write_many(self, outcomes: Sequence[Outcome]) -> None:
        """Persist outcomes as one batch file: one write, one fsync, one rename, one dir fsync."""
        if not outcomes:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.jsonl"
        final = self.directory / name
        temporary = final.with_suffix(".tmp")
        body = "".join(outcome.model_dump_json() + "\n" for outcome in outcomes).encode()
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(descriptor, body)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        temporary.replace(final)
        _fsync_directory(self.directory)
        self._index(name, (_key(outcome) for outcome in outcomes))

    def _index(self, name: str, keys: Iterable[Key]) -> None:
        with self._lock:
            waiting = self._waiting.setdefault(name, set())
            for key in keys:
                waiting.add(key)
                self._files.setdefault(key, set()).add(name)

    def answered(self, outcomes: Iterable[Outcome]) -> list[Path]:
        """Note outcomes foreman answered; return the files with nothing left waiting.

        Only bookkeeping, cheap enough for the event loop; the caller deletes the returned
        files (``remove``). A file left behind (a crash before that) only means its outcomes
        are posted again at the next start.
        """
        done: list[Path] = []
        with self._lock:
            for outcome in outcomes:
                for name in self._files.pop(_key(outcome), ()):
                    waiting = self._waiting[name]
                    waiting.discard(_key(outcome))
                    if not waiting:
                        del self._waiting[name]
                        done.append(self.directory / name)
        return done

    def remove(self, paths: Iterable[Path]) -> None:
        """Delete batch files whose outcomes have all been answered."""
        for path in paths:
            path.unlink(missing_ok=True)

    def delete(self, outcome: Outcome) -> None:
        """Forget an outcome (acknowledged or never acceptable), deleting its file if done."""
        self.remove(self.answered([outcome]))

    def count(self) -> int:
        """Outcomes written or loaded by this spool that still await acknowledgement."""
        with self._lock:
            return len(self._files)

    def load(self) -> list[Outcome]:
        """Every spooled outcome, oldest file first, once each; unreadable data is set aside.

        An unreadable file is renamed ``.bad``. A batch file with some unreadable lines keeps
        its readable ones in a new batch file, then is renamed ``.bad`` whole.
        """
        if not self.directory.is_dir():
            return []
        for stale in self.directory.glob("*.tmp"):  # never renamed: never posted either
            stale.unlink(missing_ok=True)
        files = [*self.directory.glob("*.json"), *self.directory.glob("*.jsonl")]
        files.sort(key=lambda path: path.stat().st_mtime)
        found: dict[Key, Outcome] = {}
        for path in files:
            for outcome in self._read(path):
                found.pop(_key(outcome), None)  # a later copy wins and keeps its newer place
                found[_key(outcome)] = outcome
        return list(found.values())

    def _read(self, path: Path) -> list[Outcome]:
        """A file's readable outcomes, indexed under the file that now holds them."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            _set_aside(path, exc)
            return []
        outcomes: list[Outcome] = []
        bad = 0
        lines = [data] if path.suffix == ".json" else data.splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip() and path.suffix == ".jsonl":
                continue
            try:
                outcomes.append(Outcome.model_validate_json(line))
            except pydantic.ValidationError as exc:
                bad += 1
                log.warning("unreadable outcome %d in spool file %s: %s", number, path.name, exc)
        if bad and not outcomes:
            _set_aside(path, "no readable outcome")
        elif bad:
            try:
                self.write_many(outcomes)  # the readable ones, durably, before the original goes
            except OSError as exc:  # keep the original; its bad lines are reported again
                log.error("cannot rewrite spool file %s: %s", path.name, exc)
                self._index(path.name, (_key(outcome) for outcome in outcomes))
            else:
                _set_aside(path, f"{bad} unreadable outcomes")
        elif outcomes:
            self._index(path.name, (_key(outcome) for outcome in outcomes))
        else:  # an empty batch: nothing to post
            path.unlink(missing_ok=True)
        return outcomes


def _write_all(descriptor: int, body: bytes) -> None:
    view = memoryview(body)
    while view:
        view = view[os.write(descriptor, view) :]


def _fsync_directory(directory: Path) -> None:
    """Make a rename or a new file's name durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _set_aside(path: Path, why: object) -> None:
    log.warning("unreadable spool file %s set aside: %s", path.name, why)
    path.replace(path.with_suffix(".bad"))
