"""Build a UTF-8 email (plain text plus HTML) from a rendered notice and send it over SMTP."""

import ssl
from email.message import EmailMessage
from email.utils import formatdate
from enum import StrEnum

import aiosmtplib

from .notice import Language
from .render import Rendered


class TlsMode(StrEnum):
    """How the SMTP connection is protected."""

    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class EmailDeliveryError(Exception):
    """Sending failed; permanent means retrying the same message will not help (SMTP 5xx)."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = code is not None and 500 <= code < 600


def build_email(*, sender: str, to: str, rendered: Rendered, language: Language,
                message_id: str | None = None) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML second, both UTF-8."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(localtime=False)
    if message_id:
        # A stable Message-ID lets mail clients and servers fold a resend into the first copy.
        domain = sender.rpartition("@")[2].strip("> ") or "localhost"
        message["Message-ID"] = f"<{message_id}@{domain}>"
    message.set_content(rendered.text, charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    # After set_content, which clears every Content-* header.
    message["Content-Language"] = language.value
    return message


def _code(exc: aiosmtplib.SMTPException) -> int | None:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return min(refused.code for refused in exc.recipients)
    return getattr(exc, "code", None)


async def send_email(*, message: EmailMessage, host: str, port: int, tls: TlsMode = TlsMode.STARTTLS,
                     username: str | None = None, password: str | None = None, timeout: float = 10.0,
                     tls_context: ssl.SSLContext | None = None) -> str:
    """Send one message; returns the server's reply, raises EmailDeliveryError on any failure."""
    try:
        _, reply = await aiosmtplib.send(
            message, hostname=host, port=port, username=username, password=password, timeout=timeout,
            use_tls=tls is TlsMode.TLS, start_tls=tls is TlsMode.STARTTLS, tls_context=tls_context)
    except aiosmtplib.SMTPException as exc:
        raise EmailDeliveryError(f"SMTP {host}:{port}: {exc}", code=_code(exc)) from exc
    except (OSError, TimeoutError) as exc:
        raise EmailDeliveryError(f"SMTP {host}:{port}: {type(exc).__name__}: {exc}") from exc
    return reply
