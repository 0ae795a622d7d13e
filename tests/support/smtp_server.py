"""A real SMTP server on a free 127.0.0.1 port that keeps every message it accepts."""

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class _BoundController(Controller):
    """Controller serving on a socket bound before start, so no other process can take the port."""

    def __init__(self, handler: object, sock: socket.socket, **kwargs: object) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1], **kwargs)
        self._sock = sock

    def _create_server(self):  # noqa: ANN202 - signature fixed by aiosmtpd
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class SmtpServer:
    """Start with start() or a with block; messages holds parsed EmailMessage objects in arrival order."""

    def __init__(self, *, reject_with: str | None = None, login: tuple[str, str] | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._reject_with = reject_with
        self._login = login
        self._arrived = threading.Condition()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.host, self.port = sock.getsockname()
        options: dict[str, object] = {}
        if login is not None:
            options = {"authenticator": self._authenticate, "auth_require_tls": False, "auth_required": True}
        self._controller = _BoundController(self, sock, **options)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        ok = isinstance(auth_data, LoginPassword) and self._login == (
            auth_data.login.decode(), auth_data.password.decode())
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd hook
        if self._reject_with is not None:
            return self._reject_with
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._arrived.notify_all()
        return "250 Message accepted"

    def wait_for(self, *, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
        """Block until count messages arrived or fail after timeout seconds."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} message(s) within {timeout} s, got {len(self.messages)}")
            return list(self.messages)

    def start(self) -> "SmtpServer":
        """Begin serving; returns self."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._controller.stop()

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
