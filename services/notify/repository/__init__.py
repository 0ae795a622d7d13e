"""Notify's store: every read and write of its documents, and every note on how the store behaves.

Use cases call these functions (keyword-only after the unit of work); nothing else in notify
queries the store. The notes beside the queries say why each is shaped as it is (the embedded
store picks an index from a filter's first fields, reads whole collections for some conditions,
and may deadlock on multi-document updates)."""

from services.notify.repository.deliveries import (
    Due,
    count_pending,
    create_intents,
    create_log,
    create_notification,
    list_attempts,
    list_due,
    list_endpoints_by_id,
    list_health,
    list_inbox,
    list_webhook_deliveries,
    update_leases,
    update_logged,
    update_read,
    update_redeliver,
    update_released,
    update_render_failed,
    update_settled,
    update_settled_many,
    webhook_backlog,
)
from services.notify.repository.recipients import (
    create_parked,
    create_record,
    delete_parked,
    get_known_record,
    get_profile,
    get_record,
    list_parked,
    list_parked_records,
    list_profiles,
    read_ahead_parked,
    read_ahead_profiles,
    read_ahead_records,
    update_agent,
    update_profile,
)
from services.notify.repository.reminders import (
    claim_reminder,
    has_later_basis,
    replace_reminder,
    update_cancelled,
    update_digest,
    update_done,
)
from services.notify.repository.subscriptions import (
    create_subscription,
    database_name,
    delete_subscription,
    get_endpoint,
    get_health,
    get_subscription,
    list_endpoints,
    list_subscriptions,
    update_health,
    update_paused,
    update_resumed,
    update_secrets,
)

__all__ = [
    "Due", "claim_reminder", "count_pending", "create_intents", "create_log",
    "create_notification",
    "create_parked", "create_record", "create_subscription", "database_name", "delete_parked",
    "delete_subscription", "get_endpoint", "get_health", "get_known_record", "get_profile", "get_record",
    "get_subscription", "has_later_basis", "list_attempts", "list_due", "list_endpoints",
    "list_endpoints_by_id", "list_health", "list_inbox", "list_parked", "list_parked_records", "list_profiles",
    "list_subscriptions", "list_webhook_deliveries", "read_ahead_parked", "read_ahead_profiles",
    "read_ahead_records", "replace_reminder", "update_agent", "update_cancelled", "update_digest",
    "update_done", "update_health", "update_leases", "update_paused", "update_profile", "update_read",
    "update_logged", "update_redeliver", "update_released", "update_render_failed", "update_resumed",
    "update_secrets", "update_settled",
    "update_settled_many",
    "webhook_backlog",
]
