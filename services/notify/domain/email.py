"""Build a UTF-8 email (plain text plus HTML) from a rendered notice; what a failed send means."""

from email.message import EmailMessage
from email.utils import formatdate
from enum import StrEnum

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
