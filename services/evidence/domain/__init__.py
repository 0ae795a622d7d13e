"""Pure domain rules of the evidence service: no broker, store or HTTP imports."""
