"""Kafka TLS and SASL settings reach every client: the broker's producer and consumers, and the
admin client that creates topics; a wrong combination is refused at startup, naming the setting."""

from __future__ import annotations

import datetime as dt
import os
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faststream.security import SASLPlaintext, SASLScram256, SASLScram512

from shared.bus import create_broker
from shared.bus.security import kafka_client_options
from shared.runtime.startup import load_settings
from shared.settings import ServiceSettings

pytestmark = pytest.mark.unit

PASSWORD = "kafka-pass-word-42"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("COMPLAINTS_", "KAFKA_")):
            monkeypatch.delenv(name)
    return monkeypatch


def _set(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _clients(settings: ServiceSettings) -> dict[str, dict[str, object]]:
    """The connection kwargs of each Kafka client a service builds: producer (and FastStream's admin)
    from the broker's connection kwargs, consumers from its consumer builder, and the topics admin."""
    broker = create_broker(settings=settings)
    return {"producer": broker._connection_kwargs,  # noqa: SLF001
            "consumer": dict(broker.config.broker_config.builder.keywords),
            "admin": kafka_client_options(settings)}


@pytest.mark.parametrize(("mechanism", "security"), [
    ("PLAIN", SASLPlaintext), ("SCRAM-SHA-256", SASLScram256), ("SCRAM-SHA-512", SASLScram512)])
def test_sasl_settings_reach_the_producer_consumers_and_admin(
        clean_env: pytest.MonkeyPatch, mechanism: str, security: type) -> None:
    _set(clean_env, KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", KAFKA_SASL_MECHANISM=mechanism,
         KAFKA_SASL_USERNAME="svc-intake", KAFKA_SASL_PASSWORD=PASSWORD)
    settings = ServiceSettings()
    assert isinstance(create_broker(settings=settings).specification.security, security)
    for client, kwargs in _clients(settings).items():
        assert kwargs["security_protocol"] == "SASL_PLAINTEXT", client
        assert kwargs["sasl_mechanism"] == mechanism, client
        assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("svc-intake", PASSWORD), client
        assert kwargs.get("ssl_context") is None, client


def test_sasl_ssl_with_a_ca_file_and_a_client_certificate(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca, _ = _self_signed(tmp_path, "test-kafka-ca")
    cert, key = _self_signed(tmp_path, "svc-evidence")
    _set(clean_env, KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_MECHANISM="SCRAM-SHA-256",
         KAFKA_SASL_USERNAME="svc-evidence", KAFKA_SASL_PASSWORD=PASSWORD, KAFKA_SSL_CAFILE=str(ca),
         KAFKA_SSL_CERTFILE=str(cert), KAFKA_SSL_KEYFILE=str(key))
    for client, kwargs in _clients(ServiceSettings()).items():
        assert kwargs["security_protocol"] == "SASL_SSL", client
        context = kwargs["ssl_context"]
        assert isinstance(context, ssl.SSLContext), client
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname, client
        issuers = [dict(item[0] for item in c["subject"])["commonName"] for c in context.get_ca_certs()]
        assert issuers == ["test-kafka-ca"], client


def test_plain_ssl_and_the_default_plaintext(clean_env: pytest.MonkeyPatch) -> None:
    # Unset is aiokafka's default, PLAINTEXT.
    assert {k: v.get("security_protocol", "PLAINTEXT") for k, v in _clients(ServiceSettings()).items()} == {
        "producer": "PLAINTEXT", "consumer": "PLAINTEXT", "admin": "PLAINTEXT"}
    _set(clean_env, KAFKA_SECURITY_PROTOCOL="SSL")
    for client, kwargs in _clients(ServiceSettings()).items():
        assert kwargs["security_protocol"] == "SSL", client
        assert isinstance(kwargs["ssl_context"], ssl.SSLContext), client
        assert kwargs.get("sasl_plain_username") is None, client


def test_the_sasl_password_is_never_shown(clean_env: pytest.MonkeyPatch) -> None:
    _set(clean_env, KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_MECHANISM="PLAIN",
         KAFKA_SASL_USERNAME="svc", KAFKA_SASL_PASSWORD=PASSWORD)
    settings = ServiceSettings()
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)
    assert PASSWORD not in settings.model_dump_json()


@pytest.mark.parametrize(("env", "named"), [
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_PASSWORD": "x"},
     "KAFKA_SASL_USERNAME is required with a SASL protocol"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "x"},
     "KAFKA_SASL_MECHANISM is required with KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT"),
    ({"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u"},
     "KAFKA_SASL_MECHANISM/KAFKA_SASL_USERNAME need KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT or SASL_SSL"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERTFILE": "/c.pem"},
     "KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together"),
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL: Input should be 'PLAINTEXT', 'SSL'"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "GSSAPI", "KAFKA_SASL_USERNAME": "u",
      "KAFKA_SASL_PASSWORD": "x"}, "KAFKA_SASL_MECHANISM: Input should be 'PLAIN', 'SCRAM-SHA-256'"),
])
def test_a_wrong_combination_is_refused_at_startup_naming_the_setting(
        clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str], named: str) -> None:
    _set(clean_env, **env)
    with pytest.raises(SystemExit) as stopped:
        load_settings(ServiceSettings)
    assert stopped.value.code == 2
    assert named in capsys.readouterr().err
