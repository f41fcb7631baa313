"""One base error for the edge package; each subclass also inherits the builtin that fits."""

from __future__ import annotations

from kentongan_protocol.errors import KentonganError
from kentongan_protocol.provisioning.yamlsrc import Problem

EX_CONFIG = 78
"""sysexits' EX_CONFIG: a bad configuration; the systemd unit does not restart on it."""


class EdgeError(KentonganError):
    """Base of every error raised by the gateway daemon."""


class ConfigError(EdgeError, ValueError):
    """The gateway or profile file cannot be used; `problems` point at file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems[:3]) or "bad configuration")
        self.problems = problems


class CredentialsError(EdgeError, PermissionError):
    """The MQTT password cannot be read safely (missing, empty, or readable by others)."""


class OutboxError(EdgeError, OSError):
    """The durable outbox cannot be opened or written."""


class HardwareError(EdgeError, RuntimeError):
    """A pin or device cannot be set up."""
