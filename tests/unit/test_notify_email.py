"""Emails arrive readable in both languages through a real SMTP server, and failures are reported."""

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from services.notify.adapters.email import send_email
from services.notify.domain.email import EmailDeliveryError, TlsMode, build_email
from services.notify.domain.notice import Language, Notice, Role
from services.notify.domain.render import render_notice
from tests.support.smtp_server import SmtpServer

pytestmark = pytest.mark.unit

NOTICE = Notice(event_id="evt-1", event_type="ComplaintFiled", complaint_id="c-1", ticket="CP-20261123-000001",
                occurred_at=datetime(2026, 11, 23, 8, tzinfo=UTC), deadline=datetime(2026, 11, 24, 10, tzinfo=UTC))


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def message_for(language: Language) -> EmailMessage:
    rendered = render_notice(notice=NOTICE, role=Role.COMPLAINANT, language=language)
    return build_email(sender="Complaints <noreply@example.com>", to="buyer@example.com", rendered=rendered,
                       language=language, message_id="6f1c2b9e-delivery")


@pytest.mark.parametrize(("language", "subject", "phrase"), [
    (Language.ZH_CN, "[CP-20261123-000001] 投诉已受理", "受理编号为 CP-20261123-000001"),
    (Language.EN, "[CP-20261123-000001] Complaint received", "Your ticket number is CP-20261123-000001"),
])
async def test_message_read_back_from_smtp_server(smtp: SmtpServer, language: Language, subject: str,
                                                  phrase: str) -> None:
    await send_email(message=message_for(language), host=smtp.host, port=smtp.port, tls=TlsMode.NONE)
    (received,) = smtp.wait_for(count=1)
    assert received["Subject"] == subject
    assert received["Message-ID"] == "<6f1c2b9e-delivery@example.com>"
    assert received["Content-Language"] == language.value
    text = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert text.get_content_charset() == "utf-8" and phrase in text.get_content()
    assert phrase in html.get_content() and "<html" in html.get_content()
    assert smtp.envelopes == [("noreply@example.com", ["buyer@example.com"])]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_credentials_are_used_and_wrong_ones_are_a_permanent_failure() -> None:
    with SmtpServer(login=("mailer", "s3cret")) as smtp:
        await send_email(message=message_for(Language.EN), host=smtp.host, port=smtp.port, tls=TlsMode.NONE,
                         username="mailer", password="s3cret")
        smtp.wait_for(count=1)
        with pytest.raises(EmailDeliveryError) as refused:
            await send_email(message=message_for(Language.EN), host=smtp.host, port=smtp.port,
                             tls=TlsMode.NONE, username="mailer", password="wrong")
    assert refused.value.permanent and refused.value.code == 535
    assert "wrong" not in str(refused.value)


async def test_rejected_message_is_permanent_and_busy_server_is_not() -> None:
    with SmtpServer(reject_with="554 5.7.1 Message rejected") as smtp, pytest.raises(EmailDeliveryError) as rejected:
        await send_email(message=message_for(Language.EN), host=smtp.host, port=smtp.port, tls=TlsMode.NONE)
    assert rejected.value.permanent
    with SmtpServer(reject_with="451 4.3.0 Try again later") as smtp, pytest.raises(EmailDeliveryError) as busy:
        await send_email(message=message_for(Language.EN), host=smtp.host, port=smtp.port, tls=TlsMode.NONE)
    assert busy.value.code == 451 and not busy.value.permanent


async def test_hanging_server_times_out_instead_of_blocking() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never sends the SMTP greeting

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = time.monotonic()
    try:
        with pytest.raises(EmailDeliveryError, match="127.0.0.1"):
            await send_email(message=message_for(Language.EN), host="127.0.0.1", port=port, tls=TlsMode.NONE,
                             timeout=0.5)
    finally:
        server.close()
    assert time.monotonic() - started < 5


async def test_tls_mode_against_plain_server_fails_cleanly(smtp: SmtpServer) -> None:
    with pytest.raises(EmailDeliveryError):
        await send_email(message=message_for(Language.EN), host=smtp.host, port=smtp.port, tls=TlsMode.TLS,
                         timeout=2)
    with pytest.raises(EmailDeliveryError):
        await send_email(message=message_for(Language.EN), host=smtp.host, port=smtp.port,
                         tls=TlsMode.STARTTLS, timeout=2)
    assert smtp.messages == []


async def test_closed_port_is_a_retryable_failure() -> None:
    with SmtpServer() as smtp:
        port = smtp.port
    with pytest.raises(EmailDeliveryError) as refused:
        await send_email(message=message_for(Language.EN), host="127.0.0.1", port=port, tls=TlsMode.NONE)
    assert not refused.value.permanent
