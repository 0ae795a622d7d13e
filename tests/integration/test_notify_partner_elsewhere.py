"""Partner endpoints another notify instance stores are planned for once this one's list is old.

A module of its own: the store connection is one per process, so no other notify app may run in
this process at the same time (the module-scoped app of test_notify_partner_endpoints would).
"""

from __future__ import annotations

import pytest

from shared.envelope import utcnow
from tests.support.notify_harness import HOOK, file, notify_settings, running_notify, store
from tests.support.servers import Servers
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def test_a_subscription_made_through_another_instance_counts_once_the_list_is_old(
        servers: Servers, namespace: str, service_env: dict[str, str]) -> None:
    create_topics(env=service_env)
    fresh = notify_settings(servers=servers, namespace=namespace, subscriptions_max_age_s=1)
    with running_notify(fresh):
        assert file(fresh, "p-elsewhere") == []
        # Another notify instance stores it: this one has not heard of it.
        store(fresh).subscriptions.insert_one({
            "_id": "sub_made_elsewhere", "platform": "p-elsewhere", "owner": "p-elsewhere-ops", "url": HOOK,
            "event_types": [], "description": "", "secrets": [{"value": "whsec_" + "A" * 43, "created_at": utcnow()}],
            "health": {}, "created_at": utcnow()})
        intents = wait_until(lambda: file(fresh, "p-elsewhere"), timeout=20, what="an event planned for it")
        assert [i["subscription_id"] for i in intents] == ["sub_made_elsewhere"]
