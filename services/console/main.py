"""The console's wiring point: create_app() builds it; run() serves it.

A plain FastAPI app: no store, no broker. It is ready when the four APIs answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from services.console.adapters.apis import Apis
from services.console.api import oidc, pages, status
from services.console.api.security import SecurityHeaders
from services.console.api.views import environment
from services.console.config import ConsoleSettings
from shared.metrics import ServiceMetrics
from shared.runtime.serve import serve
from shared.runtime.startup import load_settings

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    """Build the console: API clients, templates, security headers, pages and health checks."""
    settings = settings or ConsoleSettings()
    client = httpx.Client(timeout=settings.api_timeout_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        client.close()

    app = FastAPI(title="Complaints console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.apis = Apis(intake_url=settings.intake_url.rstrip("/"), evidence_url=settings.evidence_url.rstrip("/"),
                          escalation_url=settings.escalation_url.rstrip("/"),
                          notify_url=settings.notify_url.rstrip("/"),
                          client=client)
    app.state.templates = environment()
    app.add_middleware(SecurityHeaders, secure=settings.secure_cookies)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.include_router(oidc.router)
    app.include_router(status.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        apis = app.state.apis.ready()
        return JSONResponse({"service": "console", "ready": all(apis.values()), "apis": apis},
                            status_code=200 if all(apis.values()) else 503)

    # HTTP rate, errors and duration per page, scraped like the services' (docs/metrics.md)
    metrics = ServiceMetrics(service_name="console", otlp_endpoint=None)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        body, content_type = await metrics.render()
        return Response(body, media_type=content_type)

    FastAPIInstrumentor.instrument_app(app, meter_provider=metrics.provider,
                                       excluded_urls="healthz,readyz,metrics,static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    return app


def run() -> None:
    """Serve the console with its settings from the environment."""
    serve(create_app, load_settings(ConsoleSettings))


if __name__ == "__main__":
    run()
