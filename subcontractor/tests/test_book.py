"""The task book: free slots as tasks arrive, finish and are forgotten; change signals."""

from __future__ import annotations

import anyio
from subcontractor.agent.book import TaskBook
from subcontractor.wire import TaskOffer


def offer(n: int, module: str = "sim") -> TaskOffer:
    return TaskOffer(id=f"task-{n}", attempt=1, module=module, function="echo")


class TestCapacity:
    async def test_slots_are_taken_on_arrival_and_freed_when_the_task_finishes(self) -> None:
        book = TaskBook({"sim": 3, "iputils": 1})
        first, second = book.add(offer(1)), book.add(offer(2))
        assert first is not None and second is not None
        assert book.capacity() == {"sim": 1, "iputils": 1}
        book.set_phase(first, "started")
        assert book.capacity() == {"sim": 1, "iputils": 1}
        book.set_phase(first, "finished")
        assert book.capacity() == {"sim": 2, "iputils": 1}
        book.set_phase(first, "finished")  # said twice: freed once
        book.forget(first.id)  # an acknowledged outcome: its slot was already free
        assert book.capacity() == {"sim": 2, "iputils": 1}
        book.forget(second.id)  # forgotten unfinished (released, refused): its slot comes back
        assert book.capacity() == {"sim": 3, "iputils": 1}
        assert book.held == {}

    async def test_a_forgotten_task_finishing_later_frees_nothing_more(self) -> None:
        book = TaskBook({"sim": 2})
        held = book.add(offer(1))
        assert held is not None
        book.forget(held.id)
        book.set_phase(held, "finished")
        again = book.add(offer(1))  # delivered again meanwhile
        assert again is not None
        book.set_phase(held, "finished")  # the old runner's object, not the new one
        assert book.capacity() == {"sim": 1}

    async def test_redelivery_takes_no_slot_and_never_below_zero(self) -> None:
        book = TaskBook({"sim": 1})
        assert book.add(offer(1)) is not None
        assert book.add(offer(1)) is None
        assert book.add(offer(2)) is not None
        assert book.capacity() == {"sim": 0}
        assert [task["id"] for task in book.running()] == ["task-1", "task-2"]


class TestChanges:
    async def test_every_waiter_wakes_on_a_change_and_later_waiters_wait_for_the_next(
        self,
    ) -> None:
        book = TaskBook({"sim": 1})
        book.add(offer(0))  # a change nobody waits for
        woken: list[int] = []

        async def waiter(n: int) -> None:
            await book.wait_changed()
            woken.append(n)

        async with anyio.create_task_group() as group:
            group.start_soon(waiter, 1)
            group.start_soon(waiter, 2)
            await anyio.wait_all_tasks_blocked()
            assert woken == []
            book.add(offer(1))
            await anyio.wait_all_tasks_blocked()
            assert sorted(woken) == [1, 2]
            group.start_soon(waiter, 3)
            await anyio.wait_all_tasks_blocked()
            assert sorted(woken) == [1, 2]  # 3 waits for the next change
            book.forget("task-1")
        assert sorted(woken) == [1, 2, 3]
