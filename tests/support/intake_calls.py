"""Helpers for intake tests: the service as a process, bearer tokens, complaint bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from services.intake.config import IntakeSettings
from shared.auth import mint_token
from tests.support.samples import DATA as SAMPLES
from tests.support.samples import sample_complaint
from tests.support.suite import running_suite

DATA = SAMPLES / "intake"


def token(subject: str, role: str, *, platform: str | None = None, merchant_id: str | None = None,
          **extra: Any) -> dict[str, str]:
    """Authorization header with a token signed by the default local secret."""
    minted = mint_token(secret=IntakeSettings().auth_secret, subject=subject, role=role, platform=platform,
                        merchant_id=merchant_id, **extra)
    return {"Authorization": f"Bearer {minted}"}


def body(name: str = "complaint_zh.json", **changes: Any) -> dict[str, Any]:
    """A complaint body from tests/data/intake, paid an hour ago, with dotted-path changes."""
    return sample_complaint(f"intake/{name}", **changes)


def complainant_of(complaint: dict[str, Any]) -> dict[str, str]:
    """The token of the complaint's own complainant."""
    return token(complaint["complainant"]["id"], "complainant", platform=complaint["platform"])


@contextmanager
def running_intake(*, env: dict[str, str], log_dir: Path,
                   extra: dict[str, str] | None = None) -> Iterator[httpx.Client]:
    """Intake alone as a process on the real servers; yields an HTTP client bound to it."""
    with (running_suite(env={**env, **(extra or {})}, log_dir=log_dir, names=("intake",)) as services,
          httpx.Client(base_url=services["intake"].url, timeout=15) as client):
        yield client


def topic_messages(*, bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every message now on a topic, decoded, with its key under `_key`."""
    import asyncio

    from tests.support import kafka

    return [json.loads(r.value) | {"_key": (r.key or b"").decode()}
            for r in asyncio.run(kafka.records_now(bootstrap=bootstrap, topic=topic))]
