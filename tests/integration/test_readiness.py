"""Readiness follows the real connections: a store that is down at startup is waited for."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.evidence.config import EvidenceSettings
from services.evidence.main import create_app
from shared.auth import mint_token
from shared.runtime import embedded
from tests.support.servers import Servers
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def test_store_down_at_startup_keeps_the_service_unready_until_it_comes(
    servers: Servers, namespace: str, tmp_path: Path
) -> None:
    port = embedded.free_port()
    settings = EvidenceSettings(
        kafka_bootstrap_servers=servers.bootstrap,
        mongodb_uri=f"mongodb://127.0.0.1:{port}/?directConnection=true",
        mongodb_timeout_ms=500,
        mongodb_db=f"{namespace}_evidence",
        consumer_group=f"{namespace}-evidence",
        telemetry_db=f"{namespace}_telemetry",
    )
    agent = {"Authorization": "Bearer " + mint_token(secret=settings.auth_secret, subject="agent-1",
                                                     role="agent", platform="kamen-1")}
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        unready = client.get("/readyz")
        assert unready.status_code == 503
        assert unready.headers["Retry-After"]
        assert unready.json()["checks"]["store"] is False
        assert client.get("/v1/complaints/CP-20261123-000001/evidence-file", headers=agent).status_code == 503
        store, _ = embedded.start_mongodb(port=port, data_dir=tmp_path / "db", log_dir=tmp_path)
        try:
            wait_until(lambda: client.get("/readyz").status_code == 200, timeout=60,
                       what="readiness once the store is up")
            assert client.get("/v1/complaints/CP-20261123-000001/evidence-file", headers=agent).status_code == 404
        finally:
            store.stop()
