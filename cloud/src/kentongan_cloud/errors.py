"""Errors of the cloud service; each also inherits the builtin that fits."""

from __future__ import annotations

from kentongan_protocol.errors import KentonganError


class CloudError(KentonganError):
    """Base of every error raised by the cloud service."""


class ConfigError(CloudError, ValueError):
    """Settings or provisioning the service cannot run with (exit code 78)."""


class NotFoundError(CloudError, LookupError):
    """The incident, gateway or alarm asked for does not exist."""


class ConflictError(CloudError, ValueError):
    """The change is not allowed in the current state (e.g. resolving a resolved incident)."""


class StaleWriteError(CloudError, RuntimeError):
    """Another worker changed the row first; the transaction is retried from the start."""


class DatabaseUnavailableError(CloudError, ConnectionError):
    """The database cannot be reached; nothing may be acknowledged until it returns."""


class MigrationError(CloudError, RuntimeError):
    """The schema cannot be brought to the asked revision (unknown revision, broken data)."""
