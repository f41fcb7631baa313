"""One base error for the protocol package; each subclass also inherits the builtin that fits."""

from __future__ import annotations


class KentonganError(Exception):
    """Base of every error raised by Kentongan code."""


class TopicError(KentonganError, ValueError):
    """A topic string does not belong to the Kentongan topic tree."""


class PayloadError(KentonganError, ValueError):
    """A payload is not valid for its topic; `reason` is a short counter label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
