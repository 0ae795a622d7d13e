"""A poll's round applied as several shared transactions, each one's handlers running while the
one before it commits.

A round holds one message per key (see Consumer.dispatch_batch), so its transactions never touch
one complaint twice and may commit in any order; the poll is acknowledged only once every one of
them has committed (or its messages were applied alone or dead-lettered), so a crash redelivers
what was not applied, as before. What overlaps is the service's own work (decoding, rules,
rendering) with the store's work on the transaction before: on a busy store that is most of a
consumer's time, spent waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
#: Set by the transaction now applying once its handlers are done (it is committing).
_HANDLED: ContextVar[asyncio.Event | None] = ContextVar("handled", default=None)


def handled() -> None:
    """Say the current shared transaction has run its handlers: the next one may start its own."""
    event = _HANDLED.get()
    if event is not None:
        event.set()


async def apply_in_turn(items: list[T], *, size: int, apply: Callable[[list[T]], Awaitable[None]]) -> None:
    """Apply `items` as groups of `size`: each group starts once the one before has handled its
    messages (called `handled`) or finished; returns once all have finished, raising the first failure."""
    if len(items) <= size:
        await apply(items)
        return
    previous: asyncio.Event | None = None
    tasks = []
    for start in range(0, len(items), size):
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(_staged(items[start:start + size], apply, after=previous, ready=ready)))
        previous = ready
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _staged(group: list[T], apply: Callable[[list[T]], Awaitable[None]], *, after: asyncio.Event | None,
                  ready: asyncio.Event) -> None:
    if after is not None:
        await after.wait()
    _HANDLED.set(ready)  # this task's own context: only its transaction sets it
    try:
        await apply(group)
    finally:
        ready.set()
