"""Pure domain rules of the escalation service: no broker, store or HTTP imports."""
