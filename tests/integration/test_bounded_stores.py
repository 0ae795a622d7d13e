"""Bounded stores (issue 24): the applied-event ledger and the span store expire their documents
through TTL indexes made at startup with the configured retention; a ledger retention that is not
above the outbox's is refused before the service starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from services.evidence.config import EvidenceSettings
from services.evidence.main import create_app
from shared.ledger import LEDGER_TTL_INDEX
from shared.telemetry import SPANS_COLLECTION, SPANS_TTL_INDEX
from tests.support.servers import Servers
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def settings(servers: Servers, namespace: str, **overrides: object) -> EvidenceSettings:
    return EvidenceSettings(
        kafka_bootstrap_servers=servers.bootstrap, mongodb_uri=servers.mongodb_uri,
        mongodb_db=f"{namespace}_evidence", consumer_group=f"{namespace}-evidence",
        telemetry_db=f"{namespace}_telemetry", **overrides)


@pytest.fixture
def mongo(servers: Servers) -> Iterator[MongoClient]:
    with MongoClient(servers.mongodb_uri) as client:
        yield client


def test_the_ledger_and_the_span_store_get_ttl_indexes_with_the_configured_retention(
        servers: Servers, namespace: str, mongo: MongoClient) -> None:
    configured = settings(servers, namespace, ledger_retention_h=400, span_retention_h=24)
    with TestClient(create_app(configured)) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200, timeout=60, what="evidence to be ready")
        ledger = mongo[configured.mongodb_db]["processed_events"].index_information()
        spans = mongo[configured.telemetry_db][SPANS_COLLECTION].index_information()
    assert ledger[LEDGER_TTL_INDEX]["key"] == [("processed_at", 1)]
    assert ledger[LEDGER_TTL_INDEX]["expireAfterSeconds"] == 400 * 3600
    assert spans[SPANS_TTL_INDEX]["key"] == [("stored_at", 1)]
    assert spans[SPANS_TTL_INDEX]["expireAfterSeconds"] == 24 * 3600


def test_a_changed_retention_replaces_the_index_at_the_next_start(
        servers: Servers, namespace: str, mongo: MongoClient) -> None:
    for hours in (500, 600):
        configured = settings(servers, namespace, ledger_retention_h=hours)
        with TestClient(create_app(configured)) as client:
            wait_until(lambda c=client: c.get("/readyz").status_code == 200, timeout=60, what="evidence ready")
        ledger = mongo[configured.mongodb_db]["processed_events"].index_information()
        assert ledger[LEDGER_TTL_INDEX]["expireAfterSeconds"] == hours * 3600
    spans = mongo[configured.telemetry_db][SPANS_COLLECTION].index_information()
    assert spans[SPANS_TTL_INDEX]["expireAfterSeconds"] == 168 * 3600, "the default span retention"


def test_the_defaults_keep_the_ledger_beyond_the_outbox() -> None:
    defaults = EvidenceSettings()
    assert defaults.ledger_retention_h == 336 and defaults.outbox_retention_h == 168
    assert defaults.span_retention_h == 168


@pytest.mark.parametrize("ledger_h", [168, 100])
def test_a_ledger_retention_not_above_the_outbox_retention_is_refused_at_startup(
        servers: Servers, namespace: str, ledger_h: int) -> None:
    refused = rf"ledger_retention_h \({ledger_h}\) must be above outbox_retention_h \(168\)"
    with pytest.raises(ValueError, match=refused), \
            TestClient(create_app(settings(servers, namespace, ledger_retention_h=ledger_h))):
        pass
