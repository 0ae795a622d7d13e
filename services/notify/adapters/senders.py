"""The senders the worker picks among: one recorded delivery by email, SMS or webhook."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import aiohttp
import httpx

from services.notify.adapters.email import send_email
from services.notify.adapters.sms import HttpSmsProvider
from services.notify.adapters.webhook_targets import resolve_target
from services.notify.adapters.webhooks import deliver, new_session, verified_context
from services.notify.config import NotifySettings
from services.notify.domain.email import EmailDeliveryError, build_email
from services.notify.domain.notice import Language
from services.notify.domain.render import Rendered
from services.notify.domain.sms import SmsError
from services.notify.domain.webhook_secrets import SigningSecret, active_secrets
from services.notify.domain.webhook_targets import TargetRefused
from services.notify.models import Notification, Subscription
from shared.envelope import utcnow


@dataclass(frozen=True)
class Outcome:
    """What one attempt did: ok, or the error and whether retrying can help."""

    started_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    permanent: bool = False

    @property
    def ok(self) -> bool:
        """True when the channel accepted the message."""
        return self.error is None


class Senders:
    """One shared HTTP session and provider per process; each send is bounded by its channel timeout."""

    def __init__(self, *, settings: NotifySettings) -> None:
        self._settings = settings
        # The session binds to the running loop, so it is made at the first webhook (this object may
        # be built before the loop); the TLS context loads its bundle from disk, so here, once.
        self._webhooks: aiohttp.ClientSession | None = None
        self._tls = verified_context()
        self._sms_http: httpx.AsyncClient | None = None
        self._sms: HttpSmsProvider | None = None
        if settings.sms_url:
            # The SMS provider keeps its own small httpx client: one endpoint, a few messages a second.
            key = settings.sms_api_key.get_secret_value() if settings.sms_api_key else ""
            self._sms_http = httpx.AsyncClient(timeout=settings.sms_timeout_s, follow_redirects=False)
            self._sms = HttpSmsProvider(url=settings.sms_url, api_key=key, timeout=settings.sms_timeout_s,
                                        client=self._sms_http)

    def _session(self) -> aiohttp.ClientSession:
        if self._webhooks is None or self._webhooks.closed:
            self._webhooks = new_session(limit=self._settings.concurrency_webhook * 2,
                                         timeout=self._settings.webhook_timeout_s, ssl_context=self._tls)
        return self._webhooks

    async def close(self) -> None:
        """Release the HTTP connections."""
        if self._webhooks is not None:
            await self._webhooks.close()
        if self._sms_http is not None:
            await self._sms_http.aclose()

    async def send(self, *, doc: Notification, subscription: Subscription | None) -> Outcome:
        """Attempt one delivery; never raises for a channel fault."""
        started, clock = utcnow(), time.perf_counter()
        code: int | None = None
        try:
            if doc.channel == "email":
                code = await self._email(doc)
            elif doc.channel == "sms":
                code = await self._sms_send(doc)
            else:
                return await self._webhook(doc, subscription)
        except EmailDeliveryError as exc:
            return _failed(started, clock, exc.code, str(exc), exc.permanent)
        except SmsError as exc:
            return _failed(started, clock, exc.status_code, str(exc), exc.permanent)
        except TimeoutError:
            return _failed(started, clock, None, f"{doc.channel} send timed out", False)
        return Outcome(started, code, _ms(clock), None)

    async def _email(self, doc: Notification) -> int:
        s = self._settings
        rendered = Rendered(subject=doc.subject, text=doc.body, html=doc.html or "", sms=doc.sms or "",
                            template=doc.template or "")
        message = build_email(sender=s.smtp_sender, to=doc.address, rendered=rendered,
                              language=Language(doc.language), message_id=doc.id)
        password = s.smtp_password.get_secret_value() if s.smtp_password else None
        async with asyncio.timeout(s.smtp_timeout_s + 1):
            await send_email(message=message, host=s.smtp_host or "", port=s.smtp_port, tls=s.smtp_tls,
                             username=s.smtp_username, password=password, timeout=s.smtp_timeout_s)
        return 250

    async def _sms_send(self, doc: Notification) -> int:
        if self._sms is None:
            raise SmsError("no SMS provider is configured", status_code=400)
        async with asyncio.timeout(self._settings.sms_timeout_s + 1):
            receipt = await self._sms.send(to=doc.address, text=doc.sms or doc.body, idempotency_key=doc.id)
        return receipt.status_code

    async def _webhook(self, doc: Notification, subscription: Subscription | None) -> Outcome:
        started, clock = utcnow(), time.perf_counter()
        if subscription is None or subscription.deleted_at is not None:
            return _failed(started, clock, None, "the subscription was deleted", True)
        try:
            target = await resolve_target(url=subscription.url,
                                          allow_private=self._settings.webhook_allow_private_targets,
                                          private_hosts=self._settings.webhook_private_hosts)
        except TargetRefused as exc:
            return _failed(started, clock, None, str(exc), True)
        secrets = active_secrets(secrets=[SigningSecret(**s) for s in subscription.secrets], now=started)
        attempt = await deliver(url=target.url, msg_id=doc.id, body=(doc.payload or "{}").encode(), secrets=secrets,
                                timeout=self._settings.webhook_timeout_s, client=self._session(), now=started,
                                address=target.address)
        error = None if attempt.ok else (attempt.error or f"HTTP {attempt.status_code}")
        return Outcome(attempt.started_at, attempt.status_code, attempt.latency_ms, error)


def _ms(clock: float) -> int:
    return round((time.perf_counter() - clock) * 1000)


def _failed(started: datetime, clock: float, code: int | None, error: str, permanent: bool) -> Outcome:
    return Outcome(started, code, _ms(clock), error[:500], permanent)
