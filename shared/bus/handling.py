"""How a consumer runs its handlers: each in its record's span, with the record's event as the cause
of what it emits (shared.outbox.CAUSE). A handler is a coroutine function run on the event loop, or
a plain function run in a worker thread; a group's plain handlers run in one thread, one after another."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast

from opentelemetry import context as otel_context

from shared.bus.broker import trace_of
from shared.envelope import Message
from shared.logs import record_context
from shared.outbox import CAUSE
from shared.store import UnitOfWork

#: A subscriber: applies one message in the unit of work the consumer hands it. A plain function
#: (not async) runs in a worker thread, where it may call the store.
Handler = Callable[[Any, UnitOfWork], Awaitable[None] | None]
#: Reads, in a group's unit of work, what its messages will each need (see UnitOfWork.read_ahead).
Prepare = Callable[[list[Message], UnitOfWork], None]
#: What a consumed record gives the consumer: its bytes, its headers, and the record itself.
Record = tuple[bytes, Mapping[str, Any], Any]
#: The span a record is handled in, from its headers.
Span = Callable[[Mapping[str, Any]], AbstractContextManager[Any]]


def plain(handler: Handler) -> bool:
    """Whether the handler is a plain function (run in a worker thread), not a coroutine function."""
    return not inspect.iscoroutinefunction(handler)


@contextmanager
def handling(span: Span, event: Message, headers: Mapping[str, Any]) -> Iterator[None]:
    """Handle one record within this: in its span and log context, its event the cause of what is emitted."""
    with span(headers), record_context(event):
        cause = CAUSE.set(event.event_id)
        try:
            yield
        finally:
            CAUSE.reset(cause)


async def run_one(handler: Handler, event: Message, uow: UnitOfWork) -> None:
    """Run one handler: a plain one in a worker thread, a coroutine on the loop."""
    if plain(handler):
        await asyncio.to_thread(handler, event, uow)
    else:
        await cast(Awaitable[None], handler(event, uow))


async def run_group(group: list[tuple[Message, Record]], uow: UnitOfWork, *, handlers: Mapping[type, Handler],
                    span: Span) -> None:
    """Run each record's handler in the group's unit of work, in order (its read-ahead, `prepare_group`,
    comes before, in a hand-over of its own: see overlap.py).

    A group whose handlers are all plain runs in one worker thread: one hand-over for the group
    instead of one per record (each a future, a thread wake-up and a wait for the interpreter
    behind the event loop)."""
    if all(plain(handlers[type(event)]) for event, _ in group):
        await asyncio.to_thread(_run_plain, group, uow, handlers, span)
        return
    for event, (_, headers, _raw) in group:
        with handling(span, event, headers):
            await run_one(handlers[type(event)], event, uow)


def _run_plain(group: list[tuple[Message, Record]], uow: UnitOfWork, handlers: Mapping[type, Handler],
               span: Span) -> None:
    for event, (_, headers, _raw) in group:
        with handling(span, event, headers):
            handlers[type(event)](event, uow)


def prepare_group(group: list[tuple[Message, Record]], uow: UnitOfWork, prepare: Prepare) -> None:
    """Read ahead, in the group's unit of work, what its messages will need (in a worker thread)."""
    # In the first record's trace: its reads are made for the whole group.
    token = otel_context.attach(trace_of(group[0][1][1]))
    try:
        prepare([event for event, _ in group], uow)
    finally:
        otel_context.detach(token)
