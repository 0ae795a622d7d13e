"""Consumer-group membership: a service's members join their groups together and leave them on stop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.errors import KafkaError
from aiokafka.protocol.group import LeaveGroupRequest
from faststream.kafka import KafkaBroker

log = logging.getLogger(__name__)


async def start_broker(broker: KafkaBroker) -> None:
    """Connect and start every subscriber at once; each member then leaves its group when it stops.

    FastStream starts them one after another and each start waits for its group's join, which
    Tansu holds about half the session timeout: a service's three topics (one group each, see
    `group_of`) took three joins in a row, 6 s with a 3 s session, where together they take one.
    """
    await broker.connect()
    async with asyncio.TaskGroup() as group:
        for subscriber in broker.subscribers:
            group.create_task(subscriber.start())
    for publisher in broker.publishers:
        await publisher.start()
    broker.running = True
    leave_groups_on_stop(broker)


def leave_groups_on_stop(broker: KafkaBroker) -> None:
    """Make each member leave its group when the broker stops, also in the group's first generation.

    Tansu numbers a group's first generation 0 where Kafka starts at 1, and aiokafka leaves a group
    only from a generation above 0: a process whose members had joined new groups stopped without
    leaving them. The next process's members then joined groups whose leader was the departed member:
    they got no partitions until its session ran out, and now and then never did.
    """
    for subscriber in broker.subscribers:
        coordinator = getattr(getattr(subscriber, "consumer", None), "_coordinator", None)
        if coordinator is not None and hasattr(coordinator, "_maybe_leave_group"):
            coordinator._maybe_leave_group = _leaver(coordinator)  # noqa: SLF001


def _leaver(coordinator: Any) -> Any:
    """aiokafka's own leave step (GroupCoordinator._maybe_leave_group) from generation 0 on."""

    async def leave() -> None:
        if coordinator.generation >= 0 and coordinator.member_id and coordinator._group_instance_id is None:  # noqa: SLF001
            try:
                await coordinator._send_req(LeaveGroupRequest(coordinator.group_id, coordinator.member_id))  # noqa: SLF001
            except KafkaError as err:
                log.warning("leaving consumer group %s failed: %s", coordinator.group_id, err)
        coordinator.reset_generation()

    return leave
