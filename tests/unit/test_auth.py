"""Bearer tokens and role scopes: who sees which complaint, and forged or stale tokens refused."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shared.auth import (
    Principal,
    Role,
    TokenError,
    can_file,
    can_see,
    mint_token,
    scope_filter,
    sees_contact,
    verify_token,
)

pytestmark = pytest.mark.unit

SECRET = "local-development-secret-0123456789abcdef"
COMPLAINT = {"complainant": {"id": "u-1"}, "platform": "kameng", "merchant": {"id": "m-9"}}


def principal(role: str, **extra) -> Principal:
    token = mint_token(secret=SECRET, subject=extra.pop("sub", "x"), role=role, **extra)
    return verify_token(secret=SECRET, token=token)


def test_round_trip_keeps_the_claims():
    caller = principal("merchant", sub="staff-7", platform="kameng", merchant_id="m-9")
    assert (caller.subject, caller.role) == ("staff-7", Role.MERCHANT)
    assert (caller.platform, caller.merchant_id) == ("kameng", "m-9")
    assert caller.token_id


def test_expired_token_is_refused():
    token = mint_token(secret=SECRET, subject="u-1", role="complainant", now=datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(TokenError) as caught:
        verify_token(secret=SECRET, token=token)
    assert caught.value.reason == "expired"


def test_token_signed_with_another_secret_is_refused():
    token = mint_token(secret="another-secret-another-secret-0000", subject="u-1", role="complainant")
    with pytest.raises(TokenError) as caught:
        verify_token(secret=SECRET, token=token)
    assert caught.value.reason == "invalid_signature"


@pytest.mark.parametrize("token", ["", "not.a.jwt", "abc"])
def test_malformed_token_is_refused(token):
    with pytest.raises(TokenError) as caught:
        verify_token(secret=SECRET, token=token)
    assert caught.value.reason == "malformed"


def test_unsigned_token_is_refused():
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "u-1", "role": "agent", "platform": "kameng", "iat": now, "exp": now + 60,
              "iss": "complaints-intake", "aud": "complaints"}
    with pytest.raises(TokenError):
        verify_token(secret=SECRET, token=jwt.encode(claims, None, algorithm="none"))


def test_signed_token_with_an_unknown_role_is_refused():
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "u-1", "role": "root", "iat": now, "exp": now + 60,
              "iss": "complaints-intake", "aud": "complaints"}
    with pytest.raises(TokenError) as caught:
        verify_token(secret=SECRET, token=jwt.encode(claims, SECRET, algorithm="HS256"))
    assert caught.value.reason == "invalid_claims"


def test_minting_refuses_incomplete_roles_and_short_secrets():
    with pytest.raises(ValueError, match="merchant_id"):
        mint_token(secret=SECRET, subject="s", role="merchant", platform="kameng")
    with pytest.raises(ValueError, match="platform"):
        mint_token(secret=SECRET, subject="s", role="agent")
    with pytest.raises(ValueError, match="32 bytes"):
        mint_token(secret="short", subject="s", role="complainant")


def test_scope_filters_are_plain_equalities():
    assert scope_filter(principal=principal("complainant", sub="u-1")) == {"complainant.id": "u-1"}
    assert scope_filter(principal=principal("merchant", platform="kameng", merchant_id="m-9")) == {
        "platform": "kameng", "merchant.id": "m-9"}
    assert scope_filter(principal=principal("agent", platform="kameng")) == {"platform": "kameng"}
    assert scope_filter(principal=principal("partner", platform="kameng")) == {"platform": "kameng"}


@pytest.mark.parametrize(("caller", "visible"), [
    (dict(role="complainant", sub="u-1"), True),
    (dict(role="complainant", sub="u-2"), False),
    (dict(role="complainant", sub="u-1", platform="other"), False),
    (dict(role="merchant", platform="kameng", merchant_id="m-9"), True),
    (dict(role="merchant", platform="kameng", merchant_id="m-8"), False),
    (dict(role="agent", platform="kameng"), True),
    (dict(role="agent", platform="other"), False),
    (dict(role="partner", platform="kameng"), True),
    (dict(role="partner", platform="other"), False),
])
def test_can_see(caller, visible):
    assert can_see(principal=principal(caller.pop("role"), **caller), complaint=COMPLAINT) is visible


def test_only_the_complainant_sees_the_contact_unmasked():
    assert sees_contact(principal=principal("complainant", sub="u-1"), complaint=COMPLAINT)
    assert not sees_contact(principal=principal("agent", platform="kameng"), complaint=COMPLAINT)
    assert not sees_contact(principal=principal("merchant", platform="kameng", merchant_id="m-9"), complaint=COMPLAINT)


def test_who_may_file():
    assert can_file(principal=principal("complainant", sub="u-1"), complainant_id="u-1", platform="kameng")
    assert not can_file(principal=principal("complainant", sub="u-1"), complainant_id="u-2", platform="kameng")
    assert can_file(principal=principal("partner", platform="kameng"), complainant_id="u-2", platform="kameng")
    assert not can_file(principal=principal("partner", platform="kameng"), complainant_id="u-2", platform="other")
    assert not can_file(
        principal=principal("merchant", platform="kameng", merchant_id="m-9"), complainant_id="u-2", platform="kameng"
    )
