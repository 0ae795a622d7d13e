"""Wait on a condition with a deadline instead of sleeping and hoping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.1,
               what: str = "condition", explain: Callable[[], str] | None = None) -> T:
    """Call check until it returns something truthy; fail with `what` after the deadline (and what
    `explain` says then, to diagnose the failure)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    detail = f"; {explain()}" if explain is not None else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}{detail}")


async def wait_until_async(check: Callable[[], Awaitable[T]], *, timeout: float = 30.0,
                           interval: float = 0.1, what: str = "condition") -> T:
    """Async twin of wait_until."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}")
