"""Settings of the console (env prefix CONSOLE_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ConsoleSettings(ServiceSettings):
    """The console: where the four APIs answer, how sessions and status links are signed."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_", populate_by_name=True, extra="ignore")

    service_name: str = Field("console", title="Service name")
    http_port: int = Field(8005, title="HTTP port", ge=0, le=65535)
    intake_url: str = Field("http://127.0.0.1:8001", title="Base URL of intake's API")
    evidence_url: str = Field("http://127.0.0.1:8002", title="Base URL of evidence's API")
    escalation_url: str = Field("http://127.0.0.1:8003", title="Base URL of escalation's API")
    notify_url: str = Field("http://127.0.0.1:8004", title="Base URL of notify's API")
    api_timeout_s: float = Field(10.0, title="How long one call to an API may take", gt=0)
    session_secret: str | None = Field(
        None, title="Signs session cookies and CSRF tokens; unset: derived from the auth secret")
    status_link_secret: str | None = Field(
        None, title="Verifies complainants' status links (notify signs them with the same value); "
                    "unset: the auth secret", validation_alias="COMPLAINTS_STATUS_LINK_SECRET")
    session_hours: float = Field(8.0, title="How long an agent's session lasts", gt=0)
    status_session_minutes: float = Field(
        30.0, title="How long the complainant token minted from a status link lasts", gt=0)
    supervisors: list[str] = Field(
        default_factory=list, title="Agents who see traces; empty: every agent and partner")
    breaching_hours: float = Field(4.0, title="The 'breaching soon' queue: due within this many hours", gt=0)
    oidc_issuer: str | None = Field(
        None, title="OIDC issuer URL; set (with a client id and redirect URL), agents sign in with the "
                    "authorization code flow (PKCE) and its access token is what the APIs get")
    oidc_client_id: str | None = Field(None, title="The console's client id at the issuer")
    oidc_client_secret: SecretStr | None = Field(None, title="The client's secret (unset: a public client, PKCE only)")
    oidc_redirect_url: str | None = Field(None, title="The console's public /signin/callback URL")
    oidc_scopes: str = Field("openid profile", title="Scopes asked for")

    @property
    def oidc(self) -> bool:
        """Whether the code flow is configured."""
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_redirect_url)

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS, except on local runs (plain http://127.0.0.1)."""
        return self.env != "local"

    @property
    def link_secret(self) -> str:
        """The key status links are checked with."""
        return self.status_link_secret or self.auth_secret

    @property
    def cookie_secret(self) -> str:
        """The key sessions and CSRF tokens are signed with."""
        return self.session_secret or f"console-session:{self.auth_secret}"
