"""The sim plugin's execution ledger: how often each task id ran (foreman.md §13, S4).

Counts are kept in memory (``SimPlugin.executions``) and, when ``[plugins.sim]
executions_file`` is set, appended to that file as JSON lines, one per execution:
``{"task_id", "attempt", "function", "job_id", "time"}``. Each line is written with one
``write`` on a file opened with ``O_APPEND`` and fsynced before the function runs, so the
ledger survives a SIGKILL of the agent and tests outside the process can check that no task
was executed twice.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ExecutionLedger:
    """Executions per task id, optionally mirrored to an append-only JSON-lines file."""

    def __init__(self, path: Path | None = None) -> None:
        """Open ``path`` for appending (created if missing); ``None`` keeps counts in memory.

        Raises:
            OSError: The file cannot be opened for appending.
        """
        self.path = path
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._fd: int | None = None
        if path is not None:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def record(self, task_id: str, attempt: int, function: str, job_id: int | None) -> int:
        """Count one execution (durably when a file is set); return the task's count."""
        line = None
        if self.path is not None:  # no file, no line: counting in memory is all it costs
            entry = {
                "task_id": task_id,
                "attempt": attempt,
                "function": function,
                "job_id": job_id,
                "time": _now(),
            }
            line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._lock:
            self.counts[task_id] += 1
            if self._fd is not None and line is not None:
                os.write(self._fd, line.encode())
                os.fsync(self._fd)
            return self.counts[task_id]

    def close(self) -> None:
        """Close the file (counting continues in memory)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def read_ledger(path: Path) -> list[dict[str, Any]]:
    """Every execution in an executions file, in order (a torn last line is skipped)."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def counts_of(path: Path) -> Counter[str]:
    """Executions per task id in an executions file."""
    return Counter(str(entry["task_id"]) for entry in read_ledger(path))
