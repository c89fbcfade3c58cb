"""In-process wake-ups (runtime.py): broadcast for polls, one at a time for steppers."""

from __future__ import annotations

import asyncio

from contractor.foreman.runtime import Signal, WakeOne


async def _woken(signal: Signal, n: int, timeout: float) -> list[bool]:
    """Start ``n`` waiters, notify once, report which returned before ``timeout``."""
    loop = asyncio.get_running_loop()

    async def waiter() -> bool:
        started = loop.time()
        await signal.wait(timeout)
        return loop.time() - started < timeout / 2

    waiting = [asyncio.create_task(waiter()) for _ in range(n)]
    await asyncio.sleep(0.01)  # all of them are waiting now
    signal.notify()
    return list(await asyncio.gather(*waiting))


async def test_wake_one_wakes_exactly_one_waiter() -> None:
    assert sorted(await _woken(WakeOne("c"), 3, 0.4)) == [False, False, True]


async def test_broadcast_signal_wakes_every_waiter() -> None:
    assert await _woken(Signal("c"), 3, 0.4) == [True, True, True]


async def test_wake_one_keeps_a_wake_up_nobody_waited_for() -> None:
    signal = WakeOne("c")
    signal.notify()  # no stepper waiting (all busy): the next wait returns at once
    loop = asyncio.get_running_loop()
    started = loop.time()
    await signal.wait(5.0)
    assert loop.time() - started < 1.0
    started = loop.time()
    await signal.wait(0.05)  # kept only once
    assert loop.time() - started >= 0.04


async def test_wake_one_notify_all_wakes_everyone_for_shutdown() -> None:
    signal = WakeOne("c")
    waiting = [asyncio.create_task(signal.wait(5.0)) for _ in range(4)]
    await asyncio.sleep(0.01)
    signal.notify_all()
    done, _ = await asyncio.wait(waiting, timeout=1.0)
    assert len(done) == 4
