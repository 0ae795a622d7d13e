"""A count of the commands this process sends to the store, and of their statements, by name and collection."""

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
        #: The statements of the commands seen: the updates of an update, the documents of an insert.
        self.statements: Counter[tuple[str, str]] = Counter()
        #: The commands seen, in the order they were sent.
        self.order: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._match: Callable[[dict], bool] | None = None

    @contextmanager
    def counting(self, match: Callable[[dict], bool] | None = None) -> Iterator[Counter[tuple[str, str]]]:
        """Count from a clean slate until the block ends (only commands `match` accepts); yields the counter."""
        self.seen.clear()
        self.statements.clear()
        self.order.clear()
        self._match = match
        self.active = True
        try:
            yield self.seen
        finally:
            self.active = False

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.active and (self._match is None or self._match(event.command)):
            target = event.command.get(event.command_name)
            key = (event.command_name, target if isinstance(target, str) else "")
            body = event.command.get("updates") or event.command.get("documents") or event.command.get("deletes")
            with self._lock:
                self.seen[key] += 1
                self.statements[key] += len(body) if isinstance(body, list) else 1
                self.order.append(key)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


COMMANDS = Commands()
monitoring.register(COMMANDS)  # only clients created after this report to it
