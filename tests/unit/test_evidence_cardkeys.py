"""Card-key re-validation with the issuer, keys encrypted at rest, and masking."""

import logging

import httpx
import pytest
from cryptography.fernet import Fernet

from services.evidence.adapters.card_issuer import HttpCardKeyIssuer
from services.evidence.domain.cardkeys import CardKeyIssuer, CardKeyStatus, CardKeyVault, mask_key
from tests.support.card_issuer import IssuerState, create_issuer_app, run_issuer

pytestmark = pytest.mark.unit

KEY = "X7KD-93LM-QQ2P-7QZ2"


class _Delays:
    def __init__(self) -> None:
        self.seen: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seen.append(seconds)


def _adapter(state: IssuerState, **options) -> tuple[HttpCardKeyIssuer, _Delays]:
    delays = _Delays()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_issuer_app(state=state)),
                               base_url="http://issuer.test")
    return HttpCardKeyIssuer(base_url="http://issuer.test", client=client, sleep=delays,
                             **options), delays


@pytest.mark.parametrize(("keys", "expected"), [
    ({KEY: "valid"}, CardKeyStatus.VALID), ({KEY: "used"}, CardKeyStatus.USED),
    ({}, CardKeyStatus.UNKNOWN)])
async def test_issuer_answers_valid_used_or_unknown(keys, expected):
    issuer, _ = _adapter(IssuerState(keys=keys))
    assert await issuer.check(issuer_ref="shop-17", card_key=KEY) is expected


async def test_busy_issuer_is_retried_with_growing_backoff():
    state = IssuerState(keys={KEY: "used"}, fail_next=2)
    issuer, delays = _adapter(state, retries=2, backoff_s=0.5)
    assert await issuer.check(issuer_ref="shop-17", card_key=KEY) is CardKeyStatus.USED
    assert state.calls == 3
    assert delays.seen == [0.5, 1.0]


async def test_retries_spent_gives_error_not_an_exception():
    state = IssuerState(keys={KEY: "valid"}, fail_next=5)
    issuer, _ = _adapter(state, retries=1)
    assert await issuer.check(issuer_ref="shop-17", card_key=KEY) is CardKeyStatus.ERROR
    assert state.calls == 2


async def test_timeouts_are_retried_and_the_key_is_never_logged(caplog):
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow issuer", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(timeout), base_url="http://x.test")
    issuer = HttpCardKeyIssuer(base_url="http://x.test", client=client, retries=2,
                               sleep=_Delays())
    with caplog.at_level(logging.DEBUG):
        assert await issuer.check(issuer_ref="shop-17", card_key=KEY) is CardKeyStatus.ERROR
    assert len([r for r in caplog.records if "ReadTimeout" in r.getMessage()]) == 3
    assert "****7QZ2" in caplog.text
    assert KEY not in caplog.text and "93LM" not in caplog.text


async def test_adapter_talks_to_a_real_issuer_server():
    with run_issuer(keys={KEY: "valid"}) as server:
        issuer = HttpCardKeyIssuer(base_url=server.url, timeout_s=5)
        try:
            assert isinstance(issuer, CardKeyIssuer)
            assert await issuer.check(issuer_ref="shop-17", card_key=KEY) is CardKeyStatus.VALID
            server.state.keys[KEY] = "used"
            assert await issuer.check(issuer_ref="shop-17", card_key=KEY) is CardKeyStatus.USED
        finally:
            await issuer.aclose()
    assert server.state.refs == ["shop-17", "shop-17"]


def test_keys_are_encrypted_at_rest_and_rotate():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = CardKeyVault(fernet_keys=[old]).encrypt(card_key=KEY)
    assert KEY not in token
    rotated = CardKeyVault(fernet_keys=[new, old])
    assert rotated.decrypt(token=token) == KEY
    with pytest.raises(ValueError, match="no configured key"):
        CardKeyVault(fernet_keys=[new]).decrypt(token=token)


def test_a_malformed_encryption_key_is_refused_clearly():
    with pytest.raises(ValueError, match="generate_key"):
        CardKeyVault(fernet_keys=["not-a-key"])


@pytest.mark.parametrize(("key", "masked"), [(KEY, "****7QZ2"), ("ABCD", "****"), ("", "****")])
def test_mask_keeps_only_the_last_four(key, masked):
    assert mask_key(key=key) == masked
