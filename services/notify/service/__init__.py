"""Notify's use cases: handle an event once, plan its recipients, record intents, remind, manage
subscriptions, claim and settle deliveries. They read as if the store were ideal (see repository/)."""
