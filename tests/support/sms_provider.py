"""A tiny HTTP SMS provider for tests, served by uvicorn in a thread; it records and can fail on demand."""

import socket
import threading
import time
from collections import deque
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI, Request, Response


class AppServer:
    """Run an ASGI app with uvicorn in a daemon thread on a free 127.0.0.1 port."""

    def __init__(self, app: FastAPI) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port> of the running server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 10.0) -> None:
        """Start the thread and wait until uvicorn accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start within {timeout} s")
            time.sleep(0.01)

    def stop(self, *, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout)


@dataclass(frozen=True)
class SentSms:
    """One message the provider accepted."""

    to: str
    text: str
    idempotency_key: str | None


class SmsProviderServer:
    """POST /v1/messages with header X-Api-Key; fail_next() makes the next calls answer an error."""

    def __init__(self, *, api_key: str = "test-api-key") -> None:
        self.api_key = api_key
        self.messages: list[SentSms] = []
        self.calls = 0
        self._failures: deque[int] = deque()
        self._changed = threading.Condition()
        app = FastAPI()
        app.post("/v1/messages")(self._receive)
        self._server = AppServer(app)

    @property
    def url(self) -> str:
        """Address to post to."""
        return f"{self._server.base_url}/v1/messages"

    def fail_next(self, *, count: int = 1, status: int = 503) -> None:
        """Answer the next count accepted-key requests with this HTTP status."""
        with self._changed:
            self._failures.extend([status] * count)

    async def _receive(self, request: Request) -> Response:
        with self._changed:
            self.calls += 1
            self._changed.notify_all()
            if request.headers.get("x-api-key") != self.api_key:
                return Response(status_code=401, content='{"error":"bad api key"}', media_type="application/json")
            if self._failures:
                return Response(status_code=self._failures.popleft(), content="provider unavailable")
        body = await request.json()
        with self._changed:
            self.messages.append(SentSms(body["to"], body["text"], request.headers.get("idempotency-key")))
            self._changed.notify_all()
            number = len(self.messages)
        return Response(content=f'{{"message_id":"sms-{number}"}}', media_type="application/json")

    def wait_for(self, *, count: int = 1, timeout: float = 5.0) -> list[SentSms]:
        """Block until count messages were accepted or fail after timeout seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} SMS within {timeout} s, got {len(self.messages)}")
            return list(self.messages)

    def start(self) -> "SmsProviderServer":
        """Begin serving; returns self."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.stop()
