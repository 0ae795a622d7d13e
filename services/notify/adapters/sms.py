"""The SMS provider over HTTP: POST {to, text} as JSON with an API key header (httpx)."""

import httpx

from services.notify.domain.sms import SmsError, SmsReceipt


class HttpSmsProvider:
    """Provider speaking JSON over HTTP: POST {to, text} with an API key header."""

    def __init__(self, *, url: str, api_key: str, api_key_header: str = "X-Api-Key", timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None) -> None:
        self._url = url
        self._headers = {api_key_header: api_key}
        self._timeout = timeout
        self._client = client

    async def send(self, *, to: str, text: str, idempotency_key: str) -> SmsReceipt:
        """Send one message; raises SmsError with the status code when refused or unreachable."""
        # The key lets a provider that supports it drop our retry of a send it already accepted.
        headers = self._headers | {"Idempotency-Key": idempotency_key}
        body = {"to": to, "text": text}
        try:
            if self._client is not None:
                response = await self._client.post(self._url, json=body, headers=headers, timeout=self._timeout)
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.post(self._url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SmsError(f"SMS provider unreachable: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise SmsError(f"SMS provider refused with HTTP {response.status_code}: {response.text[:200]}",
                           status_code=response.status_code)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        message_id = payload.get("message_id") if isinstance(payload, dict) else None
        return SmsReceipt(provider_message_id=message_id, status_code=response.status_code)
