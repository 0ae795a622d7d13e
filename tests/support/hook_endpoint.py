"""A partner's endpoint on 127.0.0.1 (aiohttp, optionally TLS) that records what reached it, and a test CA."""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Seen:
    """One request as the endpoint saw it: the path with its query, headers, body and the sender's port."""

    path: str
    headers: dict[str, str]
    body: bytes
    peer_port: int


@dataclass
class HookEndpoint:
    """POST anywhere answers `status` (with `headers`); every request and TLS server name is recorded."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # the SNI of each TLS handshake
    port: int = 0
    _runner: web.AppRunner | None = None

    async def _answer(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(Seen(request.path_qs, headers, await request.read(), peer[1] if peer else 0))
        return web.Response(status=self.status, headers=self.headers)

    async def start(self, *, tls: ssl.SSLContext | None = None) -> HookEndpoint:
        """Serve on a free 127.0.0.1 port; with `tls`, over TLS, noting the name each client asked for."""
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=tls)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Close the listener and its connections."""
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass(frozen=True)
class LocalCA:
    """A CA of its own and a server certificate it signed for some names."""

    ca_pem: bytes
    server: ssl.SSLContext

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this CA and verifies names, as a sender's default would."""
        context = ssl.create_default_context(cadata=self.ca_pem.decode())
        context.set_alpn_protocols(["http/1.1"])
        return context


def mint_ca(*, names: list[str], folder: Path) -> LocalCA:
    """A self-signed CA and a certificate for `names` (DNS names), served from a TLS server context."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "complaints test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    return LocalCA(ca_pem=ca.public_bytes(serialization.Encoding.PEM), server=server)
