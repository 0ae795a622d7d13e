"""Serve one service's app with uvicorn, logging masked, until SIGTERM or Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import uvicorn

from shared.logs import RequestLogContext, configure_logging
from shared.settings import ServiceSettings


def serve(create_app: Callable[[Any], Any], settings: ServiceSettings) -> None:
    """Run the app on the settings' host and port; each request's log lines carry its ticket."""
    configure_logging(level=settings.log_level, service_name=settings.service_name, log_format=settings.log_format)
    app = create_app(settings)
    app.add_middleware(RequestLogContext)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, timeout_graceful_shutdown=10)
