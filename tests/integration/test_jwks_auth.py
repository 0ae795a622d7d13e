"""Tokens of an OIDC issuer: with COMPLAINTS_AUTH_JWKS_URL a running service verifies bearer tokens
against the issuer's published RS256 and ES256 keys only; a token signed with any other key, or an
HS256 token made with the shared secret, is refused 401 with the reason."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from shared.auth import mint_token
from shared.settings import ServiceSettings
from tests.support.intake_calls import body, running_intake
from tests.support.suite import create_topics

pytestmark = pytest.mark.integration

ISSUER = "https://issuer.test/realms/complaints"
AUDIENCE = "complaints-api"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _jwks() -> dict[str, Any]:
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(RSA_KEY.public_key())) | {"kid": "rsa-1", "use": "sig", "alg": "RS256"}
    ec_jwk = json.loads(ECAlgorithm.to_jwk(EC_KEY.public_key())) | {"kid": "ec-1", "use": "sig", "alg": "ES256"}
    return {"keys": [rsa_jwk, ec_jwk]}


class _Issuer(BaseHTTPRequestHandler):
    fetched = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        payload = json.dumps(_jwks()).encode()
        type(self).fetched += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/protocol/openid-connect/certs"
    server.shutdown()


@pytest.fixture(scope="module")
def intake(service_env: dict[str, str], jwks_url: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    create_topics(env=service_env)
    extra = {"COMPLAINTS_AUTH_JWKS_URL": jwks_url, "COMPLAINTS_AUTH_ISSUER": ISSUER,
             "COMPLAINTS_AUTH_AUDIENCE": AUDIENCE}
    with running_intake(env=service_env, extra=extra, log_dir=tmp_path_factory.mktemp("logs")) as client:
        yield client


def _signed(key: Any, algorithm: str, kid: str, **claims: Any) -> dict[str, str]:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex} | claims
    return {"Authorization": "Bearer " + jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})}


def test_an_rs256_token_of_the_issuer_files_a_complaint(intake: httpx.Client) -> None:
    complaint = body(**{"order.number": "KM-JWKS-1"})
    owner = _signed(RSA_KEY, "RS256", "rsa-1", sub=complaint["complainant"]["id"], role="complainant",
                    platform=complaint["platform"])
    filed = intake.post("/v1/complaints", json=complaint, headers=owner)
    assert filed.status_code == 201, filed.text
    assert intake.get(f"/v1/complaints/{filed.json()['ticket']}", headers=owner).status_code == 200


def test_an_es256_token_of_the_issuer_lists_complaints(intake: httpx.Client) -> None:
    partner = _signed(EC_KEY, "ES256", "ec-1", sub="kamen-integration", role="partner", platform="kamen-1")
    listed = intake.get("/v1/complaints", headers=partner)
    assert listed.status_code == 200, listed.text
    assert "items" in listed.json()


@pytest.mark.parametrize(("headers", "reason"), [
    # Another RSA key claiming the issuer's key id: the signature does not verify.
    (lambda: _signed(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256", "rsa-1",
                     sub="kamen-integration", role="partner", platform="kamen-1"), "invalid_signature"),
    # A key id the issuer does not publish.
    (lambda: _signed(ec.generate_private_key(ec.SECP256R1()), "ES256", "ec-unknown",
                     sub="kamen-integration", role="partner", platform="kamen-1"), "unknown_key"),
    # The shared HS256 secret mints nothing once a JWKS is configured.
    (lambda: {"Authorization": "Bearer " + mint_token(
        secret=ServiceSettings().auth_secret, subject="kamen-integration", role="partner", platform="kamen-1",
        issuer=ISSUER, audience=AUDIENCE)}, "invalid_algorithm"),
    # The issuer's own key, but a token meant for another audience.
    (lambda: _signed(RSA_KEY, "RS256", "rsa-1", sub="kamen-integration", role="partner", platform="kamen-1",
                     aud="another-api"), "invalid_claims"),
], ids=["other-key-same-kid", "unknown-kid", "hs256-shared-secret", "wrong-audience"])
def test_tokens_not_of_the_issuer_are_refused_with_the_reason(intake: httpx.Client, headers: Any,
                                                              reason: str) -> None:
    refused = intake.get("/v1/complaints", headers=headers())
    assert refused.status_code == 401, refused.text
    assert refused.json()["reason"] == reason
    assert f'error_description="{reason}"' in refused.headers["WWW-Authenticate"]


def test_the_issuers_keys_are_cached_not_fetched_per_request(intake: httpx.Client) -> None:
    partner = _signed(EC_KEY, "ES256", "ec-1", sub="kamen-integration", role="partner", platform="kamen-1")
    assert intake.get("/v1/complaints", headers=partner).status_code == 200
    before = _Issuer.fetched
    for _ in range(5):
        assert intake.get("/v1/complaints", headers=partner).status_code == 200
    assert _Issuer.fetched == before
