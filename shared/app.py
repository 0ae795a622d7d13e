"""One service process: connections with retry, the outbox relay, health, readiness, AsyncAPI."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from mongoengine import Document
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

from shared import store
from shared.bus import Consumer, Handler, KeyGate, asyncapi_document, create_broker, make_publish, start_broker
from shared.envelope import Message
from shared.ledger import ProcessedEvent, check_ledger_retention, ensure_ledger_ttl
from shared.metrics import ServiceMetrics, install_metrics
from shared.openapi import QUERY_GUARD, install_error_handlers, install_field_error_schema
from shared.outbox import OutboxEntry, OutboxRelay, prune_published, republish_effects
from shared.problems import not_ready
from shared.settings import ServiceSettings
from shared.store import GroupCommit, UnitOfWork
from shared.telemetry import create_tracer_provider, ensure_span_store

log = logging.getLogger(__name__)
#: The package's version (pyproject.toml), shown by every service's OpenAPI document.
_VERSION = importlib.metadata.version("complaints-suite")

RETRY_AFTER_S = 5
#: How long stopping waits for a cancelled background task to end (twice, see ServiceRuntime.stop).
STOP_WAIT_S = 10.0


class ServiceRuntime:
    """Owns the broker, the store connection, the relay and the readiness of one service."""

    def __init__(self, *, settings: ServiceSettings, documents: list[type[Document]]) -> None:
        check_ledger_retention(settings.ledger_retention_h, settings.outbox_retention_h)  # refuse a short ledger
        self.settings = settings
        self.documents: list[type[Document]] = [OutboxEntry, ProcessedEvent, *documents]
        otlp = settings.otel_exporter_otlp_endpoint
        self.tracer_provider = create_tracer_provider(
            service_name=settings.service_name, otlp_endpoint=otlp,
            mongodb_uri=settings.span_store_uri, telemetry_db=settings.telemetry_db,
            timeout_ms=settings.mongodb_timeout_ms, export_delay_ms=settings.span_export_delay_ms,
            span_retention_h=settings.span_retention_h)
        self.metrics = ServiceMetrics(service_name=settings.service_name, otlp_endpoint=otlp)
        self.tracer = self.tracer_provider.get_tracer(settings.service_name)
        self.broker = create_broker(settings=settings)
        self.relay = OutboxRelay(
            publish=make_publish(self.broker), batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s, max_attempts=settings.outbox_max_attempts)
        #: The service's consumers take turns on a complaint through one gate.
        self.gate = KeyGate()
        self.consumers: list[Consumer] = []
        self.store_ready = False
        self.broker_ready = False
        self._tasks: list[asyncio.Task[Any]] = []
        #: Long-running loops started once the service is connected; each is restarted if it fails.
        self.background: list[Callable[[], Any]] = []
        #: How often each of them failed and was started again (shown by /readyz).
        self.restarts: Counter[str] = Counter()
        #: Run once the indexes exist, before the service reports ready (e.g. filling in a new field).
        self.prepare_store: list[Callable[[], Any]] = []

    def subscribe(self, topic: str, handlers: Mapping[type[Message], Handler], *,
                  after_commit: Callable[[], None] | None = None,
                  prepare: Callable[[list[Message], UnitOfWork], None] | None = None,
                  atomic: bool = True) -> Consumer:
        """Consume a topic with handlers by message type (register before start).

        Each handler gets the message and the unit of work to apply it in. `after_commit` runs
        once what the handlers wrote is committed (to wake a worker for it). `prepare` runs (in a
        worker thread) in a group's unit of work before its handlers, with all its messages: it
        may read what they will each need into `UnitOfWork.read_ahead`, in one query each.
        `atomic=False` applies a poll's messages without a transaction, for handlers whose every
        write may repeat (see `UnitOfWork.group`).
        """
        consumer = Consumer(
            broker=self.broker, settings=self.settings, topic=topic, handlers=handlers,
            ready=lambda: self.store_ready, on_repeat=self._republish_effects,
            after_commit=after_commit, tracer=self.tracer, prepare=prepare, atomic=atomic,
            sink=self.relay, gate=self.gate,
        )
        consumer.register()
        self.consumers.append(consumer)
        return consumer

    def unit(self) -> UnitOfWork:
        """A standalone unit of work whose committed outbox entries this process's relay publishes at once."""
        return UnitOfWork.standalone(sink=self.relay)

    def group_commit(self, name: str) -> GroupCommit:
        """Transactions of concurrent callers committed together (see GroupCommit), published by this relay."""
        return GroupCommit(name=name, sink=self.relay)

    async def _republish_effects(self, event: Message) -> None:
        """A cause came back long after it was handled: send its effects again (they may be lost)."""
        older_than = timedelta(seconds=self.settings.republish_after_s)
        if await asyncio.to_thread(republish_effects, cause=event.event_id, older_than=older_than):
            self.relay.wake()

    async def start(self) -> None:
        """Connect in the background; the HTTP server answers at once, ready or not."""
        store.connect(
            uri=self.settings.mongodb_uri, db=self.settings.mongodb_db,
            timeout_ms=self.settings.mongodb_timeout_ms,
        )
        self._tasks.append(asyncio.create_task(self._connect(), name="connect"))

    async def _connect(self) -> None:
        await _with_backoff("store", self._connect_store)
        self.store_ready = True
        await _with_backoff("broker", self._start_broker)
        self.broker_ready = True
        loops: list[tuple[str, Callable[[], Any]]] = [
            ("relay", lambda: self.relay.run(ready=lambda: self.store_ready)),
            ("outbox-prune", self._prune_outbox),
            *((getattr(factory, "__qualname__", repr(factory)), factory) for factory in self.background)]
        for name, factory in loops:
            self._tasks.append(asyncio.create_task(self._supervised(name, factory), name=name))
        log.info("%s ready", self.settings.service_name)

    async def _supervised(self, name: str, factory: Callable[[], Any]) -> None:
        """Run a background loop for the life of the process: one that fails (a bug, an answer of
        the store nobody expected) is logged and started again, never left dead while the service
        still reports ready; a loop that keeps failing waits longer each time, up to 30 s."""
        delay = 1.0
        while True:
            started = time.monotonic()
            try:
                await factory()
                what = "returned"
            except asyncio.CancelledError:
                raise
            except Exception:
                what = "failed"
                log.exception("background loop %s failed", name)
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError  # it was being stopped: it ended, it is not started again
            log.error("background loop %s %s; starting it again in %.0f s", name, what, delay)
            self.restarts[name] += 1
            if time.monotonic() - started > 60:
                delay = 1.0  # it ran for a while: a new failure is not the same one repeating
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _prune_outbox(self) -> None:
        """Every interval, remove published outbox entries past their retention, a batch at a time."""
        older_than = timedelta(hours=self.settings.outbox_retention_h)
        while True:
            try:
                while await asyncio.to_thread(prune_published, older_than=older_than) > 0:
                    await asyncio.sleep(0)  # a long backlog goes in batches, other work between them
            except store.STORE_UNAVAILABLE as exc:
                log.warning("outbox pruning waiting for the store: %s", exc)
            await asyncio.sleep(self.settings.outbox_prune_interval_s)

    async def _connect_store(self) -> None:
        await asyncio.to_thread(store.ping)
        await asyncio.to_thread(store.ensure_indexes, *self.documents)
        await asyncio.to_thread(ensure_ledger_ttl, ledger_retention_h=self.settings.ledger_retention_h)
        if not self.settings.otel_exporter_otlp_endpoint:  # spans go to the span store: its TTL index
            await asyncio.to_thread(ensure_span_store, self.settings)
        for prepare in self.prepare_store:
            await asyncio.to_thread(prepare)

    async def _start_broker(self) -> None:
        try:
            await start_broker(self.broker)  # every member together, each leaving its group on stop
        except Exception:
            with contextlib.suppress(Exception):
                await self.broker.stop()
            raise

    async def stop(self) -> None:
        """Stop background work, leave the consumer group, flush spans.

        Each background task gets STOP_WAIT_S to end once cancelled, then is cancelled again (a
        cancellation that a library swallowed leaves it awaiting something new); one still running
        after that is logged and left behind rather than holding the shutdown for ever."""
        pending = {task for task in self._tasks if not task.done()}
        for _ in range(2):
            for task in pending:
                task.cancel()
            if not pending:
                break
            _finished, pending = await asyncio.wait(pending, timeout=STOP_WAIT_S)
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("background task %s had ended with %r", task.get_name(), task.exception())
        if pending:
            log.error("background tasks did not stop: %s", sorted(task.get_name() for task in pending))
        with contextlib.suppress(Exception):
            await self.broker.stop()
        self.tracer_provider.shutdown()
        self.metrics.shutdown()

    async def readiness(self) -> dict[str, bool]:
        """Whether the store and the broker answer right now."""
        store_ok = False
        if self.store_ready:
            try:
                await asyncio.wait_for(asyncio.to_thread(store.ping), timeout=2)
                store_ok = True
            except (TimeoutError,) + store.STORE_UNAVAILABLE:
                store_ok = False
        broker_ok = self.broker_ready and await self.broker.ping(timeout=2)
        return {"store": store_ok, "broker": bool(broker_ok)}


async def _with_backoff(what: str, step: Callable[[], Any]) -> None:
    """Retry a connection step with capped exponential backoff until it succeeds."""
    delay = 0.2
    while True:
        try:
            await step()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every connection failure is retried; the reason is logged
            log.warning("%s not available yet (%s); retrying in %.1fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def create_service_app(
    *, runtime: ServiceRuntime, title: str, description: str, routers: list[Any],
    openapi_tags: list[dict[str, str]] | None = None,
    openapi_webhooks: dict[str, Any] | None = None, openapi_components: dict[str, Any] | None = None,
) -> FastAPI:
    """A FastAPI app around a runtime: lifespan, /healthz, /readyz, /asyncapi.json, 503 on store loss;
    problem details for every refusal and unknown query parameter (shared.openapi), offline /docs and
    /redoc, and `openapi_webhooks` (with their `openapi_components`) in the OpenAPI document."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    # Swagger UI and ReDoc from fastapi-offline's own assets under /static-offline-docs
    app = FastAPIOffline(title=title, description=description, version=_VERSION, lifespan=lifespan,
                         openapi_tags=openapi_tags, dependencies=[QUERY_GUARD],
                         swagger_ui_parameters={"persistAuthorization": True})
    app.state.runtime = runtime

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.settings.service_name}

    @app.get("/readyz", tags=["operations"], summary="Readiness: store and broker connections are up",
             responses={503: {"description": "Not ready"}})
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ready = all(checks.values())
        consumers = [c.stats() for c in runtime.consumers] if runtime.broker_ready else []
        report = {"service": runtime.settings.service_name, "ready": ready, "checks": checks, "consumers": consumers,
                  "outbox_published": runtime.relay.published_total,
                  "background_restarts": dict(runtime.restarts)}
        return JSONResponse(report) if ready else not_ready(report, retry_after_s=RETRY_AFTER_S)

    @app.get("/asyncapi.json", tags=["operations"], summary="AsyncAPI document of this service's topics")
    async def asyncapi() -> JSONResponse:
        return JSONResponse(asyncapi_document(runtime.broker, title=f"{title} events", description=description))

    for router in routers:
        app.include_router(router)
    install_field_error_schema(app, webhooks=openapi_webhooks, components=openapi_components)
    install_error_handlers(app, store_errors=store.STORE_UNAVAILABLE, retry_after_s=RETRY_AFTER_S)
    install_metrics(app, runtime)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=runtime.tracer_provider,
                                       meter_provider=runtime.metrics.provider,
                                       excluded_urls="healthz,readyz,metrics",
                                       # one span per request: the ASGI send/receive events add
                                       # three more to every trace and tell nothing the server span does not
                                       exclude_spans=["receive", "send"])
    instrumentor = PymongoInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=runtime.tracer_provider)
    return app


def unit_of_work(request: Request) -> UnitOfWork:
    """FastAPI dependency: a standalone unit of work of the request's service (see ServiceRuntime.unit)."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime.unit()
