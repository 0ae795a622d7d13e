"""Refuse an evidence upload whose declared size passes the per-file limit before it is read."""

from __future__ import annotations

from typing import Any

from services.evidence.domain.hashing import MB, too_large
from shared.problems import PROBLEM_JSON, problem_bytes

# Room for the multipart boundaries, headers and the small form fields around the file.
FORM_SLACK_BYTES = 1 * MB


class UploadSizeGuard:
    """ASGI middleware: a POST .../evidence with a Content-Length over the limit gets 413 at once.

    Without it the framework would spool the whole body to a temporary file before the route
    could refuse it; bodies without a Content-Length are still stopped by the streaming check.
    """

    def __init__(self, app: Any, *, max_file_bytes: int) -> None:
        self.app = app
        self.limit = max_file_bytes + FORM_SLACK_BYTES
        self.max_file_bytes = max_file_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"].endswith("/evidence")):
            declared = dict(scope["headers"]).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.limit:
                await self._refuse(scope, send)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: dict[str, Any], send: Any) -> None:
        refusal = too_large(max_bytes=self.max_file_bytes).as_dict()
        body = problem_bytes(status=413, instance=scope["path"], detail=refusal)
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
