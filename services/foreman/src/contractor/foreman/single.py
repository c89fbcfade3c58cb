"""On SQLite exactly one foreman process runs: an exclusive lock file beside the database."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy import make_url


class AlreadyRunning(RuntimeError):
    """Another foreman process holds the database's lock file."""


class SingleProcessLock:
    """``flock`` on ``<database>.lock``; a no-op for in-memory databases."""

    def __init__(self, database_url: str) -> None:
        database = make_url(database_url).database or ""
        usable = database and database != ":memory:" and not database.startswith("file:")
        self.path = Path(database + ".lock") if usable else None
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`AlreadyRunning`."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(
                f"another foreman process uses {self.path.with_suffix('')}; on SQLite only one "
                "may run"
            ) from None
        self._fd = fd

    def release(self) -> None:
        """Give the lock back."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
