"""A local OTLP/gRPC collector for tests: any OTLP servicer served on a free loopback port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc


@contextmanager
def serving(servicer: Any, add_to_server: Callable[[Any, grpc.Server], None]) -> Iterator[int]:
    """Serve `servicer` (added with its generated `add_…_to_server`); yields the port, stops after."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    add_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(grace=None)
