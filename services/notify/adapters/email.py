"""Send one built email over SMTP (aiosmtplib)."""

import ssl
from email.message import EmailMessage

import aiosmtplib

from services.notify.domain.email import EmailDeliveryError, TlsMode


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
