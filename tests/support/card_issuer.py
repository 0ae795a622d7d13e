"""A tiny card-key issuer HTTP server for tests: a dict of keys to status, run on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel


@dataclass
class IssuerState:
    """What the issuer knows; tests change it between requests."""

    keys: dict[str, str]
    fail_next: int = 0
    calls: int = 0
    refs: list[str] = field(default_factory=list)


class CheckRequest(BaseModel):
    """Body of POST /v1/card-keys/check."""

    issuer_ref: str
    card_key: str


def create_issuer_app(*, state: IssuerState) -> FastAPI:
    """An issuer answering valid / used / unknown, or 503 while `fail_next` counts down."""
    app = FastAPI()

    @app.post("/v1/card-keys/check")
    async def check(body: CheckRequest) -> JSONResponse:
        state.calls += 1
        state.refs.append(body.issuer_ref)
        if state.fail_next > 0:
            state.fail_next -= 1
            return JSONResponse({"detail": "issuer busy"}, status_code=503)
        status = state.keys.get(body.card_key)
        if status is None:
            return JSONResponse({"status": "unknown"}, status_code=404)
        return JSONResponse({"status": status})

    return app


@dataclass(frozen=True)
class RunningIssuer:
    """A started issuer: its base URL and its state."""

    url: str
    state: IssuerState


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    def install_signal_handlers(self) -> None:
        # Signals belong to the test runner's main thread, not to this server.
        pass


@contextmanager
def run_issuer(*, keys: dict[str, str]) -> Iterator[RunningIssuer]:
    """Run the issuer with uvicorn in a background thread on a free 127.0.0.1 port."""
    state = IssuerState(keys=dict(keys))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_issuer_app(state=state), log_level="warning",
                            lifespan="off")
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    if not server.ready.wait(timeout=10):
        server.should_exit = True
        raise RuntimeError("the test card-key issuer did not start within 10 s")
    try:
        yield RunningIssuer(url=f"http://127.0.0.1:{port}", state=state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
