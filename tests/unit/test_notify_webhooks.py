"""Partners get signed webhooks they can verify with their own secret; bad targets are refused."""

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.notify.adapters.webhook_targets import validate_target
from services.notify.adapters.webhooks import deliver, new_session
from services.notify.domain.webhook_secrets import SigningSecret, active_secrets, create_secret, rotate_secrets
from services.notify.domain.webhook_targets import TargetRefused
from services.notify.domain.webhooks import sign_headers
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.unit

BODY = json.dumps({"type": "ComplaintStatusChanged", "ticket": "TK-1", "to_state": "resolved"}).encode()
T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.mark.parametrize(("url", "rule"), [
    ("ftp://partner.example.com/hook", "http or https"),
    ("javascript:alert(1)", "http or https"),
    ("https://user:pw@partner.example.com/hook", "credentials"),
    ("https://token@partner.example.com/hook", "credentials"),
    ("http://127.0.0.1:8080/hook", "non-public"),
    ("http://localhost/hook", "non-public"),
    ("http://10.1.2.3/hook", "non-public"),
    ("http://192.168.1.1/hook", "non-public"),
    ("http://169.254.169.254/latest/meta-data", "non-public"),
    ("http://[::1]/hook", "non-public"),
    ("http://[::ffff:127.0.0.1]/hook", "non-public"),
    ("http://100.64.0.1/hook", "non-public"),
    ("http://0.0.0.0/hook", "non-public"),
    ("https:///hook", "must name a host"),
])
async def test_unsafe_targets_are_refused_in_both_languages(url: str, rule: str) -> None:
    with pytest.raises(TargetRefused, match=rule) as refused:
        await validate_target(url=url)
    assert str(refused.value).startswith("url: ") and refused.value.message_zh.startswith("url：")


async def test_public_address_passes_and_private_only_when_allowed() -> None:
    assert await validate_target(url="https://93.184.215.14/hooks/complaints") == "https://93.184.215.14/hooks/complaints"
    assert await validate_target(url="http://127.0.0.1:8080/hook", allow_private=True)
    with pytest.raises(TargetRefused, match="credentials"):
        await validate_target(url="http://u:p@127.0.0.1/hook", allow_private=True)


def test_created_secret_follows_the_standard_format() -> None:
    secret = create_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert create_secret() != secret
    assert "whsec_" not in repr(SigningSecret(value=secret, created_at=T0))
    with pytest.raises(ValueError, match="whsec_"):
        SigningSecret(value="not-a-secret", created_at=T0)


def test_rotation_keeps_old_secret_until_grace_ends() -> None:
    first = SigningSecret(value=create_secret(), created_at=T0)
    rotated = rotate_secrets(secrets=[first], now=T0 + timedelta(days=30), grace=timedelta(hours=24))
    assert active_secrets(secrets=rotated, now=T0 + timedelta(days=30, hours=23)) == [
        rotated[0].value, first.value]
    assert active_secrets(secrets=rotated, now=T0 + timedelta(days=31)) == [rotated[0].value]
    again = rotate_secrets(secrets=rotated, now=T0 + timedelta(days=32))
    assert [s.value for s in again][1:] == [rotated[0].value]


def test_both_old_and_new_secret_verify_during_rotation() -> None:
    old, new = create_secret(), create_secret()
    now = datetime.now(UTC)
    headers = sign_headers(msg_id="msg_1", body=BODY, secrets=[new, old], timestamp=now)
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers)["ticket"] == "TK-1"
    with pytest.raises(WebhookVerificationError):
        Webhook(create_secret()).verify(BODY, headers)


def test_signing_converts_other_zones_to_utc() -> None:
    secret = create_secret()
    shanghai = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    headers = sign_headers(msg_id="m", body=BODY, secrets=[secret], timestamp=shanghai)
    assert Webhook(secret).verify(BODY, headers)


async def test_delivery_is_verified_by_partner_with_its_secret(receiver: WebhookReceiver) -> None:
    secret = create_secret()
    attempt = await deliver(url=receiver.url, msg_id="d-42", body=BODY, secrets=[secret])
    assert attempt.ok and attempt.status_code == 204 and attempt.error is None and attempt.latency_ms >= 0
    (got,) = receiver.wait_for(count=1)
    assert got.body == BODY and got.headers["content-type"] == "application/json"
    # The partner's own verifier, knowing only the secret, accepts the request as received.
    assert Webhook(secret).verify(got.body, got.headers) == json.loads(BODY)


async def test_failing_endpoint_reports_status_and_text_then_succeeds() -> None:
    server = WebhookReceiver(fail_first=2, fail_status=503).start()
    try:
        async with new_session(limit=4) as client:
            attempts = [await deliver(url=server.url, msg_id="d-1", body=BODY, secrets=[create_secret()],
                                      client=client) for _ in range(3)]
    finally:
        server.stop()
    assert [a.status_code for a in attempts] == [503, 503, 204]
    assert attempts[0].error == "HTTP 503: receiver failing on purpose"
    assert [a.ok for a in attempts] == [False, False, True]
    assert {r.headers["webhook-id"] for r in server.requests} == {"d-1"}


async def test_deliveries_to_one_endpoint_share_a_connection() -> None:
    # A partner's server sees one connection for deliveries sent one after another (as over a
    # shared client), not a new connection (a TCP handshake) per delivery; failures too.
    server = WebhookReceiver(fail_first=1, fail_status=500).start()
    try:
        async with new_session(limit=4) as client:
            attempts = [await deliver(url=server.url, msg_id=f"d-{n}", body=BODY, secrets=[create_secret()],
                                      client=client) for n in range(4)]
    finally:
        server.stop()
    assert [a.status_code for a in attempts] == [500, 204, 204, 204]
    assert len({r.peer for r in server.requests}) == 1 and server.requests[0].peer


async def test_hanging_endpoint_times_out_without_raising() -> None:
    server = WebhookReceiver(delay=1.5).start()
    try:
        attempt = await deliver(url=server.url, msg_id="d-1", body=BODY, secrets=[create_secret()], timeout=0.3)
    finally:
        server.stop()
    assert attempt.status_code is None and attempt.error == "timed out after 0.3 s"
    assert 250 <= attempt.latency_ms < 2000


async def test_unreachable_endpoint_is_an_attempt_with_error() -> None:
    server = WebhookReceiver().start()
    url = server.url
    server.stop()
    attempt = await deliver(url=url, msg_id="d-1", body=BODY, secrets=[create_secret()], timeout=2)
    # The delivery log names the fault: no answer, and why.
    assert not attempt.ok and attempt.status_code is None
    assert (attempt.error or "").startswith("ClientConnectorError: Cannot connect to host 127.0.0.1")


def test_signing_without_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one active secret"):
        sign_headers(msg_id="m", body=BODY, secrets=[], timestamp=T0)
