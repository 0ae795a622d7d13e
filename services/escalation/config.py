"""Settings of the escalation service (env prefix ESCALATION_)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.escalation.domain.holiday_overrides import DEFAULT_OVERRIDES
from services.escalation.domain.policy import DEFAULT_POLICY
from shared.envelope import new_id
from shared.settings import ServiceSettings


def _instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{new_id()[:6]}"


class EscalationSettings(ServiceSettings):
    """Escalation: the case lifecycle, routing across tiers and the SLA clocks."""

    model_config = SettingsConfigDict(env_prefix="ESCALATION_", populate_by_name=True, extra="ignore")

    service_name: str = Field("escalation", title="Service name")
    http_port: int = Field(8003, title="HTTP port", ge=0, le=65535)
    mongodb_db: str = Field("complaints_escalation", title="Database owned by escalation")
    consumer_group: str = Field("complaints-escalation", title="Consumer group")
    policy_path: Path = Field(DEFAULT_POLICY, title="Routing policy file (YAML), validated at startup")
    calendar_overrides_path: Path = Field(
        DEFAULT_OVERRIDES, title="Newly announced holidays and make-up working days (YAML)")
    timer_poll_interval_s: float = Field(
        1.0, title="Longest sleep of the timer loop when nothing is due sooner", gt=0)
    timer_lease_s: float = Field(
        30.0, title="How long a claimed timer is reserved before another instance may take it", gt=0)
    timer_batch_size: int = Field(200, title="Timers claimed per round", ge=1)
    timer_group_size: int = Field(50, title="Timers fired per transaction (of distinct cases)", ge=1)
    instance_id: str = Field(default_factory=_instance_id, title="This instance's name on timer leases")
