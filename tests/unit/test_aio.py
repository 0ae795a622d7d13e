"""A loop that waits on an event stops when cancelled, even as the event is set at that moment."""

from __future__ import annotations

import asyncio

import pytest

from shared.aio import wait_set

pytestmark = pytest.mark.unit


def test_a_cancelled_wait_is_not_swallowed_when_the_event_is_set_at_the_same_moment() -> None:
    async def scenario() -> tuple[bool, int]:
        wakeup = asyncio.Event()
        rounds = 0

        async def loop() -> None:
            nonlocal rounds
            while True:
                rounds += 1
                await wait_set(wakeup, 10)
                wakeup.clear()

        task = asyncio.create_task(loop())
        await asyncio.sleep(0.01)  # the loop waits
        wakeup.set()
        task.cancel()  # asyncio.wait_for on Python 3.11 returned normally here and the loop went on
        done, _ = await asyncio.wait({task}, timeout=2)
        return task in done and task.cancelled(), rounds

    stopped, rounds = asyncio.run(scenario())
    assert stopped, "the loop went on after it was cancelled"
    assert rounds == 1


def test_the_wait_ends_after_its_timeout_or_when_the_event_is_set() -> None:
    async def scenario() -> tuple[bool, bool]:
        quiet = asyncio.Event()
        await wait_set(quiet, 0.05)  # returns: nothing set it
        told = asyncio.Event()
        asyncio.get_running_loop().call_later(0.01, told.set)
        await wait_set(told, 10)
        return quiet.is_set(), told.is_set()

    assert asyncio.run(asyncio.wait_for(scenario(), timeout=5)) == (False, True)
