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


async def _returns_within(signal: WakeOne, timeout: float, limit: float) -> bool:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await signal.wait(timeout)
    return loop.time() - started < limit


async def test_a_kept_wake_up_that_a_claim_began_after_is_spent() -> None:
    signal = WakeOne("c")
    signal.notify()  # nobody waiting: kept
    signal.claiming()  # a claim began after it: it sees what that wake-up was for
    assert not await _returns_within(signal, 0.1, 0.05)  # waits out its timeout
    signal.notify()  # a newer one is not spent
    assert await _returns_within(signal, 5.0, 1.0)


async def test_a_waiter_woken_by_a_spent_wake_up_waits_on_for_a_fresh_one() -> None:
    signal = WakeOne("c")
    waiting = asyncio.create_task(_returns_within(signal, 5.0, 1.0))
    await asyncio.sleep(0.01)
    signal.notify()
    signal.claiming()  # another stepper's claim began before this waiter ran
    await asyncio.sleep(0.05)
    assert not waiting.done()  # it went back to waiting
    signal.notify()
    assert await waiting


async def test_a_claim_does_not_spend_the_wake_ups_after_it() -> None:
    signal = WakeOne("c")
    signal.claiming()
    signal.notify()  # e.g. a stepper's full batch asking for help
    assert await _returns_within(signal, 5.0, 1.0)
