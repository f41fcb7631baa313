"""Errors of the responders package; each also inherits the builtin that fits."""

from __future__ import annotations

from kentongan_protocol.errors import KentonganError


class ResponderError(KentonganError):
    """Base of every error raised by the responders package."""


class ResponderConfigError(ResponderError, ValueError):
    """Settings or channel configuration are missing or unsafe."""


class ChannelError(ResponderError, OSError):
    """A provider did not take a message. `response` is the provider's answer, truncated."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        response: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.response = response[:2000]
        self.retry_after_s = retry_after_s


class TransientChannelError(ChannelError):
    """Worth retrying on the same channel: timeouts, 5xx, rate limits, a busy modem."""


class PermanentChannelError(ChannelError):
    """Retrying the same channel cannot help (bad number, bad credentials): try the next one."""


class FleetAlertError(ResponderError, RuntimeError):
    """A technician could not be told on any channel; the outbox tries the alert again."""


class AckRefusedError(ResponderError, PermissionError):
    """An acknowledgement was refused; `reason` is one of forged, expired, reused, unknown."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
