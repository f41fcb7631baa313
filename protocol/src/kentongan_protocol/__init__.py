"""Kentongan's shared contract: topics, payloads and provisioning models."""

from kentongan_protocol.errors import KentonganError, PayloadError, TopicError

__all__ = ["KentonganError", "PayloadError", "TopicError"]

PROTOCOL_VERSION = "v1"
