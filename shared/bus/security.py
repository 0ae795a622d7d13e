"""Kafka TLS and SASL from the settings, for every client: FastStream's broker (its producer and
consumers) and raw aiokafka clients (the admin client that creates topics)."""

from __future__ import annotations

import ssl
from typing import Any

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.settings import ServiceSettings

_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    """The TLS context of SSL and SASL_SSL (CA file, else the system's; a client certificate when set)."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
    return context


def broker_security(settings: ServiceSettings) -> BaseSecurity | None:
    """FastStream's security object of the settings (None: plaintext)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings)
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    return _SASL[str(settings.kafka_sasl_mechanism)](
        username=str(settings.kafka_sasl_username), password=password, ssl_context=context,
        use_ssl=protocol == "SASL_SSL")


def kafka_client_options(settings: ServiceSettings | None = None) -> dict[str, Any]:
    """Connection keyword arguments of a raw aiokafka client (producer, consumer, admin); the settings
    default to the environment's (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*)."""
    settings = settings or ServiceSettings()
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.endswith("SSL"):
        options["ssl_context"] = ssl_context(settings)
    if protocol.startswith("SASL_"):
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism, sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password
            else None)
    return options
