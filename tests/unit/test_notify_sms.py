"""SMS go through the provider adapter; refusals and outages come back as clear errors."""

from collections.abc import Iterator

import httpx
import pytest

from services.notify.adapters.sms import HttpSmsProvider
from services.notify.domain.sms import SmsError, SmsProvider
from tests.support.sms_provider import SmsProviderServer

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def provider_server() -> Iterator[SmsProviderServer]:
    server = SmsProviderServer(api_key="k-123").start()
    yield server
    server.stop()


async def test_message_reaches_provider_with_key(provider_server: SmsProviderServer) -> None:
    provider: SmsProvider = HttpSmsProvider(url=provider_server.url, api_key="k-123")
    receipt = await provider.send(to="+8613812345678", text="【投诉 TK-1】已受理", idempotency_key="d-1")
    sent = provider_server.wait_for(count=1)[-1]
    assert (sent.to, sent.text, sent.idempotency_key) == ("+8613812345678", "【投诉 TK-1】已受理", "d-1")
    assert receipt.provider_message_id is not None and receipt.provider_message_id.startswith("sms-")


async def test_outage_is_retryable_then_next_send_succeeds(provider_server: SmsProviderServer) -> None:
    before = len(provider_server.messages)
    provider_server.fail_next(count=1, status=503)
    async with httpx.AsyncClient() as client:
        provider = HttpSmsProvider(url=provider_server.url, api_key="k-123", client=client)
        with pytest.raises(SmsError) as failed:
            await provider.send(to="13812345678", text="hello", idempotency_key="d-2")
        await provider.send(to="13812345678", text="hello", idempotency_key="d-2")
    assert failed.value.status_code == 503 and not failed.value.permanent
    assert len(provider_server.wait_for(count=before + 1)) == before + 1


async def test_wrong_key_is_permanent(provider_server: SmsProviderServer) -> None:
    provider = HttpSmsProvider(url=provider_server.url, api_key="stolen")
    with pytest.raises(SmsError, match="HTTP 401") as refused:
        await provider.send(to="13812345678", text="hello", idempotency_key="d-3")
    assert refused.value.permanent
    assert "stolen" not in str(refused.value)


async def test_unreachable_provider_is_retryable() -> None:
    server = SmsProviderServer().start()
    url = server.url
    server.stop()
    with pytest.raises(SmsError, match="unreachable") as failed:
        await HttpSmsProvider(url=url, api_key="k", timeout=2).send(to="1", text="x", idempotency_key="d")
    assert failed.value.status_code is None and not failed.value.permanent
