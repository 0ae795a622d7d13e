"""A partner's webhook endpoint for tests: records every request and can fail the first N or answer slowly."""

import asyncio
import threading
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response

from tests.support.sms_provider import AppServer


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver saw it, with the status it answered."""

    headers: dict[str, str]
    body: bytes
    answered: int
    peer: str = ""  # the sender's host:port: requests over one connection share it


class WebhookReceiver:
    """POST /hook answers fail_status for the first fail_first requests, then 204; delay slows every answer."""

    def __init__(self, *, fail_first: int = 0, fail_status: int = 500, delay: float = 0.0) -> None:
        self.requests: list[ReceivedRequest] = []
        self._fail_first = fail_first
        self._fail_status = fail_status
        self._delay = delay
        self._changed = threading.Condition()
        app = FastAPI()
        app.post("/hook")(self._receive)
        self._server = AppServer(app)

    @property
    def url(self) -> str:
        """Address to post to."""
        return f"{self._server.base_url}/hook"

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        if self._delay:
            await asyncio.sleep(self._delay)
        with self._changed:
            status = self._fail_status if len(self.requests) < self._fail_first else 204
            peer = f"{request.client.host}:{request.client.port}" if request.client else ""
            self.requests.append(ReceivedRequest(dict(request.headers), body, status, peer))
            self._changed.notify_all()
        return Response(status_code=status, content=b"receiver failing on purpose" if status >= 400 else b"")

    def wait_for(self, *, count: int = 1, timeout: float = 5.0) -> list[ReceivedRequest]:
        """Block until count requests arrived or fail after timeout seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"expected {count} request(s) within {timeout} s, got {len(self.requests)}")
            return list(self.requests)

    def start(self) -> "WebhookReceiver":
        """Begin serving; returns self."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.stop()
