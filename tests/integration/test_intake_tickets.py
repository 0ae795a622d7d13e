"""Ticket numbers reserved in blocks on the real store: unique across instances, in order within one."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from services.intake.models import TicketSequence
from services.intake.repository.tickets import SHANGHAI, TicketNumbers
from shared.store import database
from tests.support.servers import Servers, own_database

pytestmark = pytest.mark.integration


@pytest.fixture
def db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_tickets", TicketSequence):
        yield


def test_two_instances_hand_out_unique_numbers_a_block_at_a_time(db: None) -> None:
    now = datetime(2026, 11, 23, 23, 30, tzinfo=SHANGHAI)
    first, second = TicketNumbers(), TicketNumbers()

    def take(instance: TicketNumbers) -> list[str]:
        return [instance.next(prefix="CP", now=now, block=16) for _ in range(40)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.map(take, [first, second])
    assert len(set(a) | set(b)) == 80
    assert all(t.startswith("CP-20261123-") for t in a + b)
    assert a == sorted(a) and b == sorted(b)  # in order within an instance
    # 40 numbers each take three blocks of 16: the day's counter moved six times, not 80 (seven
    # when the two first-of-the-day upserts race and one comes back empty: that block goes unused).
    counter = database()[TicketSequence._get_collection_name()].find_one({"_id": "CP-20261123"})["value"]
    assert counter in (96, 112)


def test_a_new_day_starts_its_own_numbers(db: None) -> None:
    numbers = TicketNumbers()
    evening = datetime(2026, 11, 23, 23, 59, tzinfo=SHANGHAI)
    morning = datetime(2026, 11, 24, 0, 1, tzinfo=SHANGHAI)
    assert [numbers.next(prefix="CP", now=evening, block=16) for _ in range(2)] == [
        "CP-20261123-000001", "CP-20261123-000002"]
    assert numbers.next(prefix="CP", now=morning, block=16) == "CP-20261124-000001"
