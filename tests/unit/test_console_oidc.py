"""Agents sign in through an OIDC issuer (authorization code with PKCE); the issuer is faked over HTTP."""

from __future__ import annotations

import base64
import hashlib
import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from services.console.adapters.apis import Apis
from services.console.api import oidc as oidc_routes
from services.console.config import ConsoleSettings
from services.console.main import create_app

pytestmark = pytest.mark.unit
ISSUER = "https://idp.example"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Issuer:
    """Discovery and the token endpoint; the code is traded only with the verifier of its challenge."""

    def __init__(self) -> None:
        self.challenge = ""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"authorization_endpoint": f"{ISSUER}/authorize",
                                             "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks"})
        if request.url.path == "/token":
            form = parse_qs(request.content.decode())
            verifier = form["code_verifier"][0]
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if form["code"] != ["the-code"] or digest != self.challenge:
                return httpx.Response(400, json={"error": "invalid_grant"})
            now = int(time.time())
            token = jwt.encode({"sub": "agent-7", "role": "agent", "platform": "kamen-1", "iss": ISSUER,
                                "aud": "complaints", "iat": now, "exp": now + 600}, KEY, algorithm="RS256")
            return httpx.Response(200, json={"access_token": token, "token_type": "Bearer"})
        return httpx.Response(404)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> TestClient:
    issuer = Issuer()
    app = create_app(ConsoleSettings(oidc_issuer=ISSUER, oidc_client_id="console",
                                     oidc_redirect_url="http://testserver/signin/callback",
                                     auth_issuer=ISSUER, auth_jwks_url=f"{ISSUER}/jwks"))
    app.state.apis = Apis(intake_url="http://i", evidence_url="http://e", escalation_url="http://s",
                          notify_url="http://n", client=httpx.Client(transport=httpx.MockTransport(issuer)))
    keys = SimpleNamespace(get_signing_key_from_jwt=lambda token: SimpleNamespace(key=KEY.public_key()))
    monkeypatch.setattr(oidc_routes, "jwks_client", lambda url: keys)
    test = TestClient(app)
    test.issuer = issuer  # type: ignore[attr-defined]
    return test


def test_an_agent_signs_in_with_the_issuers_code_flow(client: TestClient) -> None:
    assert 'href="/signin/oidc"' in client.get("/signin").text
    sent = client.get("/signin/oidc", follow_redirects=False)
    where = urlsplit(sent.headers["location"])
    asked = parse_qs(where.query)
    assert f"{where.scheme}://{where.netloc}{where.path}" == f"{ISSUER}/authorize"
    assert asked["code_challenge_method"] == ["S256"] and asked["redirect_uri"] == ["http://testserver/signin/callback"]
    client.issuer.challenge = asked["code_challenge"][0]  # type: ignore[attr-defined]
    back = client.get("/signin/callback", params={"code": "the-code", "state": asked["state"][0]},
                      follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"].startswith("/queues")
    assert "console_session=" in back.headers.get("set-cookie", "")


def test_a_callback_with_another_state_is_refused(client: TestClient) -> None:
    client.get("/signin/oidc", follow_redirects=False)
    refused = client.get("/signin/callback", params={"code": "the-code", "state": "forged"}, follow_redirects=False)
    assert refused.status_code == 403 and "console_session=" not in refused.headers.get("set-cookie", "")
