"""The key gate: a service's consumers of different topics take turns on one complaint."""

from __future__ import annotations

import asyncio
import contextlib


class KeyGate:
    """The message keys (complaints) this process's consumers are applying a shared transaction for.

    A service's consumers of different topics write the same documents when their events are about
    one complaint (notify applying a filing while an escalation event about it arrives): the store
    then fails one of the two transactions with a write conflict, and the loser's whole group is
    applied again. Under load that fed itself: the lagging consumer kept losing to the other and
    fell further behind. So a consumer takes its group's keys before its transaction begins and
    gives them back once it committed or failed; a group whose keys another holds waits for them.
    The wait is bounded: past it the group goes ahead without them, and the store still keeps the
    two apart. Other instances of the service are not seen here; there the store alone decides.
    """

    def __init__(self, *, wait_s: float = 5.0) -> None:
        self._held: set[str] = set()
        self._changed = asyncio.Condition()
        self._wait_s = wait_s
        #: Groups waiting for keys another holds, now.
        self.waiting = 0

    async def take(self, keys: set[str]) -> set[str]:
        """Wait until none of the keys is held (or the bound passed); take those free; return them."""
        async with self._changed:
            if keys & self._held:
                self.waiting += 1
                try:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
                    # that arrives as the wait ends (see shared/aio.py), and a stopping service hangs.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._wait_s):
                            await self._changed.wait_for(lambda: not keys & self._held)
                finally:
                    self.waiting -= 1
            taken = keys - self._held
            self._held |= taken
            return taken

    async def give(self, keys: set[str]) -> None:
        """Give back keys taken."""
        if keys:
            async with self._changed:
                self._held -= keys
                self._changed.notify_all()
