"""A hanging SMTP server holds only its own channel: SMS and in-app go out, email is retried, nothing dropped."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from shared.contracts.evidence import EvidenceAssessed
from tests.support.notify_harness import (
    complaint_filed,
    logged_attempts,
    notify_settings,
    publish,
    running_notify,
    store,
    token,
)
from tests.support.servers import Servers
from tests.support.sms_provider import SmsProviderServer
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def silent_smtp() -> Iterator[int]:
    """Accepts connections and never says a word (no SMTP greeting)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_hanging_smtp_server_does_not_hold_sms_or_in_app(servers: Servers, namespace: str,
                                                           service_env: dict[str, str], silent_smtp: int) -> None:
    create_topics(env=service_env)
    sms = SmsProviderServer().start()
    settings = notify_settings(servers=servers, namespace=namespace, smtp_host="127.0.0.1", smtp_port=silent_smtp,
                               smtp_tls="none", smtp_timeout_s=1.0, sms_url=sms.url, sms_api_key=sms.api_key)
    try:
        with running_notify(settings) as app:
            filed = complaint_filed(complainant="u-hang", email="buyer@example.com", phone="13900003333")
            publish(settings, topic=settings.topics.intake_events, events=[filed])
            me = token(settings, subject="u-hang", role="complainant")
            wait_until(lambda: app.get("/v1/inbox", headers=me).json()["items"], timeout=30, what="the ack")
            publish(settings, topic=settings.topics.evidence_events, events=[EvidenceAssessed(
                complaint_id=filed.complaint_id, ticket=filed.ticket, occurred_at=datetime.now(UTC),
                completeness_score=60, missing=["payment_proof"])])

            [text] = sms.wait_for(count=1, timeout=30)
            assert filed.ticket in text.text
            emails = store(settings).notifications
            failing = wait_until(lambda: list(emails.find({"complaint_id": filed.complaint_id, "channel": "email",
                                                           "attempts": {"$gte": 1}})),
                                 timeout=30, what="a timed-out email attempt")
            assert all(doc["state"] == "pending" for doc in failing)  # kept for a retry, not dropped
            [attempt, *_] = logged_attempts(store(settings), [failing[0]["_id"]])
            assert attempt["ok"] is False and "timed out" in attempt["error"].lower()
    finally:
        sms.stop()
