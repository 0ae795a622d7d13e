"""Intake folding a poll of steps on the real store: the complaints' status writes go out in one short
transaction, which waits out a request holding one of those complaints and then applies every step once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from faststream.kafka import KafkaBroker

from shared import store
from shared.bus import Consumer
from shared.contracts.escalation import ComplaintStatusChanged
from shared.settings import ServiceSettings
from tests.support.servers import Servers, own_database
from tests.support.store_commands import COMMANDS
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def intake_db(servers: Servers, namespace: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from services.intake.models import Complaint, ComplaintStep, ComplaintWait
    from services.intake.repository import steps

    monkeypatch.setattr(steps, "_HEARD", steps._Heard(100))  # nothing heard yet: the ids repeat between tests
    with own_database(servers, f"{namespace}_folding", Complaint, ComplaintStep, ComplaintWait):
        yield


def acknowledged(complaint: int) -> ComplaintStatusChanged:
    return ComplaintStatusChanged(complaint_id=f"c-{complaint}", ticket=f"CP-20261123-{complaint:06d}",
                                  from_state="filed", to_state="acknowledged", tier="internal")


def test_a_polls_status_writes_wait_for_a_request_holding_a_complaint_then_apply_once(intake_db: None) -> None:
    from services.intake.handlers import on_status_changed

    complaints = store.database()["complaints"]
    complaints.insert_many([{"_id": f"c-{i}", "ticket": f"CP-20261123-{i:06d}", "status": "filed", "status_at": None,
                             "statements": [], "timeline": []}
                            for i in range(3)])
    store.database()["complaint_waits"].insert_many(
        [{"_id": f"c-{i}:escalation", "complaint_id": f"c-{i}", "actor": "escalation"} for i in range(3)])
    reader = Consumer(broker=KafkaBroker("127.0.0.1:1"), settings=ServiceSettings(), topic="in",
                      handlers={ComplaintStatusChanged: on_status_changed}, ready=lambda: True, atomic=False)
    poll = [(acknowledged(i).encode(), {}, None) for i in range(3)]

    # A complainant's statement on c-1 is being written (its transaction not yet committed).
    session = store.client().start_session()
    session.start_transaction()
    complaints.update_one({"_id": "c-1"}, {"$push": {"statements": {"number": 1}}}, session=session)
    folding = threading.Thread(target=lambda: asyncio.run(reader.dispatch_batch(poll)))
    try:
        with COMMANDS.counting():
            folding.start()
            wait_until(lambda: COMMANDS.seen[("update", "complaints")] >= 1,
                       what="the poll's status writes to reach the held complaint")
            session.commit_transaction()
            folding.join(timeout=30)
            assert not folding.is_alive(), "the poll never finished"
            # Delivered again (a rebalance, say): nothing changes, nothing is stored twice.
            asyncio.run(reader.dispatch_batch(poll))
    finally:
        session.end_session()

    shown = {d["_id"]: (d["status"], d["statements"]) for d in complaints.find()}
    assert shown == {"c-0": ("acknowledged", []), "c-1": ("acknowledged", [{"number": 1}]),
                     "c-2": ("acknowledged", [])}
    assert sorted(s["complaint_id"] for s in store.database()["complaint_steps"].find()) == ["c-0", "c-1", "c-2"]
    assert store.database()["complaint_waits"].count_documents({}) == 0
    assert reader.stats()["processed"] == 6 and reader.stats()["dead_lettered"] == 0
