"""Errors of the time-series writer; each also inherits the builtin that fits."""

from __future__ import annotations

from kentongan_protocol.errors import KentonganError


class TimeSeriesError(KentonganError):
    """Base of the time-series errors."""


class WriteFailedError(TimeSeriesError, ConnectionError):
    """The store could not take a batch now (down, overloaded, misconfigured): retry later."""


class WriteRejectedError(TimeSeriesError, ValueError):
    """The store refused a batch as invalid: retrying would never succeed."""


class SpoolError(TimeSeriesError, OSError):
    """The on-disk spool cannot be opened or written."""
