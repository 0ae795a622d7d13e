"""Small asyncio helpers the service loops share."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_set(event: asyncio.Event, timeout: float) -> None:
    """Wait until `event` is set or `timeout` seconds pass, whichever comes first.

    Not `asyncio.wait_for(event.wait(), ...)`: on Python 3.11 that returns normally when its task is
    cancelled at the moment the event is set, swallowing the cancellation, and a loop built on it
    then never stops (a service's shutdown waited on one for ever). `asyncio.timeout` keeps it.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
