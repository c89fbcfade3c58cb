"""The spool: group-committed batch files, answered outcomes, restarts, legacy and bad files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from subcontractor.spool import Spool
from subcontractor.wire import Outcome


def outcome(n: int, attempt: int = 1) -> Outcome:
    return Outcome(
        agent_id="agent-1",
        task_id=f"task-{n}",
        attempt=attempt,
        outcome="result",
        data={"n": n},
    )


def files(spool: Spool, pattern: str = "*") -> list[str]:
    return sorted(path.name for path in spool.directory.glob(pattern))


def ids(outcomes: list[Outcome]) -> list[str]:
    return [o.task_id for o in outcomes]


class TestGroupCommit:
    def test_a_batch_is_one_file_with_one_outcome_a_line(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path)
        batch = [outcome(n) for n in range(5)]
        spool.write_many(batch)
        (name,) = files(spool)
        assert name.endswith(".jsonl")
        lines = (spool.directory / name).read_text().splitlines()
        assert [Outcome.model_validate_json(line) for line in lines] == batch
        assert spool.count() == 5

    def test_one_fsync_for_the_file_and_one_for_the_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        synced: list[int] = []
        real = os.fsync
        monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
        Spool(tmp_path).write_many([outcome(n) for n in range(50)])
        assert len(synced) == 2

    def test_an_empty_batch_writes_nothing(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path)
        spool.write_many([])
        assert not spool.directory.exists()
        assert spool.count() == 0


class TestAnswers:
    def test_the_file_goes_only_when_every_outcome_in_it_is_answered(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path)
        spool.write_many([outcome(n) for n in range(3)])
        assert spool.answered([outcome(0), outcome(2)]) == []
        assert len(files(spool, "*.jsonl")) == 1
        assert spool.count() == 1
        (done,) = spool.answered([outcome(1)])
        assert done.exists()  # answered() only books; remove() deletes
        spool.remove([done])
        assert files(spool) == []
        assert spool.count() == 0

    def test_answers_across_batches_free_each_file_separately(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path)
        spool.write_many([outcome(0), outcome(1)])
        spool.write_many([outcome(2)])
        spool.delete(outcome(2))
        spool.delete(outcome(0))
        assert len(files(spool, "*.jsonl")) == 1
        assert ids(Spool(tmp_path).load()) == ["task-0", "task-1"]
        spool.delete(outcome(1))
        assert files(spool) == []

    def test_another_attempt_of_the_same_task_is_a_different_outcome(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path)
        spool.write_many([outcome(0, attempt=1), outcome(0, attempt=2)])
        spool.delete(outcome(0, attempt=1))
        assert spool.count() == 1
        assert files(spool, "*.jsonl")
        spool.delete(outcome(0, attempt=2))
        assert files(spool) == []

    def test_answering_an_outcome_never_spooled_is_harmless(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path)
        spool.write_many([outcome(0)])
        assert spool.answered([outcome(9)]) == []
        assert spool.count() == 1


class TestRestart:
    def test_after_a_crash_a_partly_answered_batch_is_posted_again_whole(
        self, tmp_path: Path
    ) -> None:
        """Answers are not written down: the remaining file's outcomes all come back."""
        spool = Spool(tmp_path)
        spool.write_many([outcome(n) for n in range(3)])
        spool.write_many([outcome(3)])
        spool.delete(outcome(3))  # its file is gone
        spool.delete(outcome(1))  # its file stays: 0 and 2 are waiting
        restarted = Spool(tmp_path)
        assert ids(restarted.load()) == ["task-0", "task-1", "task-2"]
        assert restarted.count() == 3
        for n in range(3):
            restarted.delete(outcome(n))
        assert files(restarted) == []

    def test_oldest_file_first(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path)
        for n in range(4):
            spool.write_many([outcome(n)])
        for age, path in enumerate(sorted(spool.directory.glob("*.jsonl"))):
            os.utime(path, (1_000_000 + age, 1_000_000 + age))  # names are random: by age
        expected = [
            Outcome.model_validate_json(path.read_text())
            for path in sorted(spool.directory.glob("*.jsonl"))
        ]
        assert Spool(tmp_path).load() == expected

    def test_an_outcome_in_two_files_is_posted_once_and_frees_both(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path)
        spool.write_many([outcome(0), outcome(1)])
        spool.write_many([outcome(1)])
        restarted = Spool(tmp_path)
        assert sorted(ids(restarted.load())) == ["task-0", "task-1"]
        restarted.delete(outcome(1))
        assert len(files(restarted, "*.jsonl")) == 1
        restarted.delete(outcome(0))
        assert files(restarted) == []

    def test_an_unfinished_temporary_file_is_discarded(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path)
        spool.write_many([outcome(0)])
        (spool.directory / "half.tmp").write_text(outcome(1).model_dump_json()[:10])
        assert ids(Spool(tmp_path).load()) == ["task-0"]
        assert files(spool, "*.tmp") == []

    def test_nothing_spooled(self, tmp_path: Path) -> None:
        assert Spool(tmp_path).load() == []


class TestLegacyFiles:
    def test_single_outcome_files_are_loaded_and_deleted_when_answered(
        self, tmp_path: Path
    ) -> None:
        directory = tmp_path / "spool"
        directory.mkdir()
        (directory / "task-7-1.json").write_text(outcome(7).model_dump_json())
        spool = Spool(tmp_path)
        spool.write_many([outcome(8)])
        restarted = Spool(tmp_path)
        assert sorted(ids(restarted.load())) == ["task-7", "task-8"]
        assert restarted.count() == 2
        restarted.delete(outcome(7))
        assert files(restarted, "*.json") == []
        assert len(files(restarted, "*.jsonl")) == 1

    def test_an_unreadable_legacy_file_is_set_aside(self, tmp_path: Path) -> None:
        directory = tmp_path / "spool"
        directory.mkdir()
        (directory / "task-1-1.json").write_text("{not json")
        (directory / "task-2-1.json").write_text("")
        (directory / "task-3-1.json").write_text(outcome(3).model_dump_json())
        spool = Spool(tmp_path)
        assert ids(spool.load()) == ["task-3"]
        assert files(spool, "*.bad") == ["task-1-1.bad", "task-2-1.bad"]


class TestBadLines:
    def test_readable_lines_are_kept_and_the_file_set_aside_whole(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path)
        spool.write_many([outcome(0), outcome(1)])
        (path,) = spool.directory.glob("*.jsonl")
        good = path.read_text().splitlines()
        path.write_text(f'{good[0]}\n{{"task_id": "x"}}\n\n{good[1]}\ngarbage\n')
        restarted = Spool(tmp_path)
        assert ids(restarted.load()) == ["task-0", "task-1"]
        (bad,) = files(restarted, "*.bad")
        assert "garbage" in (restarted.directory / bad).read_text()  # kept for inspection
        (rewritten,) = restarted.directory.glob("*.jsonl")
        assert rewritten != path
        assert rewritten.read_text().splitlines() == good
        assert ids(Spool(tmp_path).load()) == ["task-0", "task-1"]  # stable on the next start
        restarted.delete(outcome(0))
        restarted.delete(outcome(1))
        assert files(restarted, "*.jsonl") == []

    def test_a_file_with_no_readable_line_is_set_aside(self, tmp_path: Path) -> None:
        directory = tmp_path / "spool"
        directory.mkdir()
        (directory / "batch.jsonl").write_text("garbage\n{}\n")
        spool = Spool(tmp_path)
        assert spool.load() == []
        assert files(spool) == ["batch.bad"]
        assert spool.count() == 0

    def test_an_empty_batch_file_is_removed(self, tmp_path: Path) -> None:
        directory = tmp_path / "spool"
        directory.mkdir()
        (directory / "batch.jsonl").write_text("\n")
        spool = Spool(tmp_path)
        assert spool.load() == []
        assert files(spool) == []
