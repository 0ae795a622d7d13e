"""Escalation's logic: cases, their lifecycle steps, durable timers and analytics."""
