"""Grouping: many threads' transactions committed together, and their point reads made as one query."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from opentelemetry import context as otel_context

from shared.store.connection import STORE_UNAVAILABLE
from shared.store.unit import Sink, UnitOfWork, run_transaction

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class _Handed:
    """What a caller hands to a grouping thread, and the outcome it waits for."""

    context: otel_context.Context = field(default_factory=otel_context.get_current)
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None
    settled: bool = False  # result or error is final

    def succeed(self, result: Any) -> None:
        self.result, self.settled = result, True

    def fail(self, error: BaseException) -> None:
        self.error, self.settled = error, True


@dataclass
class _Job(_Handed, Generic[T]):
    work: Callable[[UnitOfWork], T]

    def run_alone(self, sink: Sink | None) -> None:
        token = otel_context.attach(self.context)
        try:
            self.succeed(run_transaction(self.work, sink=sink))
        except BaseException as exc:  # handed to the caller's thread, raised there
            self.fail(exc)
        finally:
            otel_context.detach(token)


@dataclass
class _Ask(_Handed, Generic[T]):
    key: T


H = TypeVar("H", bound=_Handed)
K = TypeVar("K")


class _Grouping(Generic[H]):
    """What callers hand in, served a group at a time, one group after another: up to `max_group`
    items waiting, by one thread. A caller that finds nothing served or waiting serves its own item
    at once in its own thread (no hand-over to another thread and back: each is a wake-up that, with
    the cores busy, waits for the interpreter lock); what comes meanwhile waits for the thread,
    which serves it as the next group once that one is done. Each caller waits for its own outcome."""

    def __init__(self, *, thread_name: str, max_group: int) -> None:
        self._thread_name = thread_name
        self._max_group = max_group
        self._waiting: deque[H] = deque()
        self._changed = threading.Condition()
        self._busy = False  # a group (or a caller's own item) is being served
        self._thread: threading.Thread | None = None

    def _hand_in(self, item: H) -> Any:
        with self._changed:
            alone = not self._busy and not self._waiting
            if alone:
                self._busy = True
            else:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._loop, name=self._thread_name, daemon=True)
                    self._thread.start()
                self._waiting.append(item)
                self._changed.notify_all()
        if alone:
            try:
                self._serve_settled([item])
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()
        else:
            item.done.wait()
        if item.error is not None:
            raise item.error
        return item.result

    def _serve(self, group: list[H]) -> None:
        raise NotImplementedError

    def _serve_settled(self, group: list[H]) -> None:
        try:
            self._serve(group)
        except BaseException as exc:  # never leave a caller waiting, never stop serving
            for item in group:
                if not item.settled:
                    item.fail(exc)

    def _loop(self) -> None:
        while True:
            with self._changed:
                while self._busy or not self._waiting:
                    self._changed.wait()
                self._busy = True
                group = [self._waiting.popleft() for _ in range(min(len(self._waiting), self._max_group))]
            try:
                self._serve_settled(group)
            finally:
                for item in group:
                    item.done.set()
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()


class GroupCommit(_Grouping[_Job[Any]]):
    """Transactions handed in by many threads (HTTP requests), committed together.

    The store serialises commits, so under load each request waiting for its own commit is what
    limits the rate. One thread takes every job queued while the previous group committed, runs
    each job's work in one shared unit (`UnitOfWork.group`: inserts and writes go out in one request
    per collection) under the job's own trace context, and commits once. If anything in the group
    fails (a duplicate key, a conflict), the group is undone and each job runs alone, so each
    caller sees exactly the outcome its own transaction would have had. A job alone in the queue
    runs alone, in its caller's thread: no waiting is added when there is no load.
    """

    def __init__(self, *, name: str, sink: Sink | None = None, max_group: int = 32) -> None:
        super().__init__(thread_name=f"group-commit-{name}", max_group=max_group)
        self._name = name
        self._sink = sink

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work` in a transaction (possibly shared with others); its result or its error."""
        result: T = self._hand_in(_Job(work=work))
        return result

    def _serve(self, group: list[_Job[Any]]) -> None:
        if len(group) > 1:
            try:
                unit = UnitOfWork.group(sink=self._sink)
            except STORE_UNAVAILABLE as exc:
                self._unavailable(group, exc)
                return
            try:
                results = []
                for job in group:
                    token = otel_context.attach(job.context)
                    try:
                        results.append(job.work(unit))
                    finally:
                        otel_context.detach(token)
                unit.commit()
            except STORE_UNAVAILABLE as exc:
                unit.abort()
                self._unavailable(group, exc)
                return
            except BaseException as exc:
                unit.abort()
                log.debug("group commit %s of %d undone, each runs alone: %s", self._name, len(group), exc)
            else:
                for job, result in zip(group, results, strict=True):
                    job.succeed(result)
                return
        for job in group:
            job.run_alone(self._sink)

    def _unavailable(self, group: list[_Job[Any]], exc: BaseException) -> None:
        """The store is down: every job of the group fails now (its caller answers 503) instead of
        each waiting out the store's timeout in turn behind the others."""
        log.warning("group commit %s: store unavailable, %d jobs fail: %s", self._name, len(group), exc)
        for job in group:
            job.fail(exc)


class GroupRead(_Grouping[_Ask[K]], Generic[K, T]):
    """Point reads asked for by many threads at once, answered by one query.

    Under load, concurrent requests each reading a few documents queue up at the store one by one;
    here one thread takes every key asked for while the previous query ran and reads them all in
    one `read(keys)` (which returns a value for every key it was given). A read always starts after
    its caller asked, so an answer is never older than the question; a key asked alone is read at
    once, in its caller's thread. The query runs under the first caller's trace context; a failure is raised to every
    caller of the group.
    """

    def __init__(self, *, name: str, read: Callable[[list[K]], dict[K, T]], max_group: int = 64) -> None:
        super().__init__(thread_name=f"group-read-{name}", max_group=max_group)
        self._read = read

    def get(self, key: K) -> T:
        """The value read for `key` (the read's error, if it failed)."""
        value: T = self._hand_in(_Ask(key=key))
        return value

    def _serve(self, group: list[_Ask[K]]) -> None:
        token = otel_context.attach(group[0].context)
        try:
            values = self._read(list(dict.fromkeys(ask.key for ask in group)))
        finally:
            otel_context.detach(token)
        for ask in group:
            ask.succeed(values[ask.key])
