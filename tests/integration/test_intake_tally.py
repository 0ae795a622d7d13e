"""A merchant's open count on the real store: exact however filings spread it, and read from few
documents however busy the shop (each is read on every filing against it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.intake.models import Complaint, MerchantTally, OpenComplaint
from services.intake.repository import slots
from shared.store import UnitOfWork, run_transaction
from tests.support.servers import Servers, own_database
from tests.support.store_commands import COMMANDS

pytestmark = pytest.mark.integration


@pytest.fixture
def intake_db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_tally", OpenComplaint, MerchantTally):
        yield


def filed(i: int) -> Complaint:
    return Complaint(id=f"c-{i}", ticket=f"CP-20261123-{i:06d}", platform="p", merchant={"id": "m-busy"})


def test_a_busy_shops_count_stays_exact_and_is_read_from_few_documents(intake_db: None) -> None:
    # Forty filings against one shop, in groups of eight as concurrent requests commit together.
    with COMMANDS.counting():
        for first in range(0, 40, 8):
            group = UnitOfWork.group()
            for i in range(first, first + 8):
                slots.take(group, digest=f"d-{i}", complaint=filed(i))
            group.commit()
    assert slots._read_tallies([("p", "m-busy")]) == {("p", "m-busy"): 40}
    # A group's eight write the one shard the instance holds now: one update adds them all.
    assert COMMANDS.statements[("update", "merchant_open_tallies")] <= 5 * 2
    # Taken in turn, forty filings wrote forty documents, every one read by each later filing.
    assert MerchantTally.objects(merchant=slots._merchant_key(platform="p", merchant_id="m-busy")).count() \
        <= slots.TALLY_SHARDS < 40

    # A complaint that finishes takes its one away from the document it was counted in.
    run_transaction(lambda tx: slots.free(tx, complaint_id="c-7"))
    assert slots._read_tallies([("p", "m-busy")]) == {("p", "m-busy"): 39}
    assert OpenComplaint.objects.count() == 39
