"""Responder settings: provider credentials and limits, read from `KENTONGAN_RESPONDERS__…`.

Nested keys use `__`: `KENTONGAN_RESPONDERS__WHATSAPP__TOKEN` sets `whatsapp.token`. A channel
type whose provider section is absent is not configured, and messages fall through to the
person's next channel. Webhook secrets are named per channel in the district file
(`secret_env`) and read from the same environment when a webhook is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from kentongan_cloud.responders.errors import ResponderConfigError

ENV_PREFIX = "KENTONGAN_RESPONDERS__"
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "placeholder", "test"})
MIN_SECRET_LEN = 32


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WhatsAppSettings(_Section):
    """WhatsApp Business Cloud API (Meta Graph API)."""

    token: SecretStr
    phone_number_id: Annotated[str, Field(pattern=r"^[0-9]{5,20}$")]
    api_base: str = "https://graph.facebook.com"
    api_version: Annotated[str, Field(pattern=r"^v[0-9]+\.[0-9]+$")] = "v21.0"
    # Outside the 24-hour customer-service window WhatsApp accepts only approved templates.
    # With a template name set, alerts go out as that template (body parameters: what, where,
    # since, acknowledge link); without it, as plain text (works only inside the window).
    template: str | None = None
    template_lang: str = "id"


class TwilioSmsSettings(_Section):
    """An HTTP SMS gateway with Twilio's Programmable Messaging API shape."""

    account_sid: Annotated[str, Field(pattern=r"^AC[0-9a-fA-F]{32}$")]
    auth_token: SecretStr
    from_number: Annotated[str, Field(min_length=3, max_length=40)]
    api_base: str = "https://api.twilio.com"


class ModemSettings(_Section):
    """A GSM modem on a serial device, driven with AT commands in text mode."""

    device: str = "/dev/ttyUSB0"
    baud: int = 115200
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 30.0
    max_parts: Annotated[int, Field(ge=1, le=6)] = 3


class TelegramSettings(_Section):
    bot_token: SecretStr
    api_base: str = "https://api.telegram.org"
    # Sent back by Telegram in X-Telegram-Bot-Api-Secret-Token on every webhook update.
    webhook_secret: SecretStr | None = None


class SmtpSettings(_Section):
    host: str
    port: int = 587
    from_addr: Annotated[str, Field(min_length=3, max_length=200)]
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = True
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 20.0


class RateLimit(_Section):
    """At most `per_s` messages a second per provider, bursts of up to `burst`."""

    per_s: Annotated[float, Field(gt=0, le=1000)]
    burst: Annotated[int, Field(ge=1, le=1000)] = 1


DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    "whatsapp": RateLimit(per_s=20, burst=20),  # Cloud API allows 80/s per number
    "sms": RateLimit(per_s=1, burst=5),  # one long code sends about 1 message/s
    "sms_modem": RateLimit(per_s=0.2, burst=1),  # a modem sends one SMS every few seconds
    "telegram": RateLimit(per_s=25, burst=25),  # bots: about 30 messages/s overall
    "email": RateLimit(per_s=5, burst=10),
    "webhook": RateLimit(per_s=20, burst=20),
}


class RetryPolicy(_Section):
    """Attempts on one channel before the next is tried, and the waits between them."""

    attempts_per_channel: Annotated[int, Field(ge=1, le=10)] = 3
    backoff_s: Annotated[list[float], Field(min_length=1)] = [5.0, 20.0, 60.0]
    # A provider that is backing off or rate-limited for longer than this is skipped for
    # the next channel: an alarm does not wait in a queue.
    max_provider_wait_s: Annotated[float, Field(ge=0)] = 30.0
    provider_backoff_base_s: Annotated[float, Field(gt=0)] = 2.0
    provider_backoff_max_s: Annotated[float, Field(gt=0)] = 300.0

    def delay_after(self, attempt: int) -> float:
        """Wait after the `attempt`-th failed attempt (1-based) on a channel."""
        return self.backoff_s[min(attempt, len(self.backoff_s)) - 1]


class ResponderSettings(_Section):
    """Everything the responders part needs besides the district file and a database."""

    public_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")]
    ack_secret: SecretStr
    link_ttl_s: Annotated[int, Field(ge=300, le=7 * 86400)] = 12 * 3600
    local_mode: bool = False
    http_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    # How long a claimed message stays with its worker; renewed before each channel is
    # tried, so it only has to cover one send. After a crash it is how long the message
    # waits before another worker takes it: keep it short.
    lease_s: Annotated[int, Field(ge=5, le=3600)] = 30
    retry: RetryPolicy = RetryPolicy()
    rate_limits: dict[str, RateLimit] = DEFAULT_RATE_LIMITS
    whatsapp: WhatsAppSettings | None = None
    sms: TwilioSmsSettings | None = None
    modem: ModemSettings | None = None
    telegram: TelegramSettings | None = None
    smtp: SmtpSettings | None = None

    @model_validator(mode="after")
    def _real_secret(self) -> ResponderSettings:
        secret = self.ack_secret.get_secret_value()
        weak = secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LEN
        if weak and not self.local_mode:
            msg = (
                f"ack_secret must be a random string of at least {MIN_SECRET_LEN} characters "
                "outside local mode (set KENTONGAN_RESPONDERS__ACK_SECRET)"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _lease_covers_a_send(self) -> ResponderSettings:
        if self.lease_s < self.http_timeout_s + 5:
            msg = (
                f"lease_s ({self.lease_s}) must be at least http_timeout_s + 5 "
                f"({self.http_timeout_s + 5:g}): a send must end before its lease does"
            )
            raise ValueError(msg)
        return self

    def rate_limit(self, provider: str) -> RateLimit:
        return self.rate_limits.get(provider, RateLimit(per_s=10, burst=10))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ResponderSettings:
        """Build from `KENTONGAN_RESPONDERS__…` variables; a bad value names its variable."""
        tree: dict[str, Any] = {}
        for key, value in env.items():
            if not key.startswith(ENV_PREFIX):
                continue
            parts = key[len(ENV_PREFIX) :].lower().split("__")
            node = tree
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        try:
            return cls.model_validate(tree)
        except ValueError as exc:
            msg = f"responder settings from {ENV_PREFIX}*: {exc}"
            raise ResponderConfigError(msg) from exc
