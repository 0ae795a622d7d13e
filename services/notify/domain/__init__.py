"""Pure domain rules of the notify service: no broker, store or HTTP imports."""
