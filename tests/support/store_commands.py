"""A count of the commands this process sends to the store, by name and collection."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pymongo import monitoring


class Commands(monitoring.CommandListener):
    """Counts commands while `counting()` is open; clients created after registration report here."""

    def __init__(self) -> None:
        self.active = False
        self.seen: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._match: Callable[[dict], bool] | None = None

    @contextmanager
    def counting(self, match: Callable[[dict], bool] | None = None) -> Iterator[Counter[tuple[str, str]]]:
        """Count from a clean slate until the block ends (only commands `match` accepts); yields the counter."""
        self.seen.clear()
        self._match = match
        self.active = True
        try:
            yield self.seen
        finally:
            self.active = False

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.active and (self._match is None or self._match(event.command)):
            target = event.command.get(event.command_name)
            with self._lock:
                self.seen[(event.command_name, target if isinstance(target, str) else "")] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


COMMANDS = Commands()
monitoring.register(COMMANDS)  # only clients created after this report to it
