"""The four complaint services: intake, evidence, escalation and notify."""
