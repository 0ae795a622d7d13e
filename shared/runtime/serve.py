"""Serve one service's app with uvicorn, logging masked, until SIGTERM or Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import uvicorn

from shared.settings import ServiceSettings
from shared.telemetry import configure_logging


def serve(create_app: Callable[[Any], Any], settings: ServiceSettings) -> None:
    """Run the app on the settings' host and port."""
    configure_logging(level=settings.log_level, service_name=settings.service_name)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                log_config=None, timeout_graceful_shutdown=10)
