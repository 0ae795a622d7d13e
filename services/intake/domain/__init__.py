"""Pure domain rules of the intake service: no broker, store or HTTP imports."""
