"""Signed, expiring acknowledgement links and short reply codes.

A link token is 25 bytes in base64url (34 characters): the page id (9 random bytes), the
expiry (unix seconds) and the first 12 bytes of an HMAC-SHA256 over both. The page binds
the token to one person and one incident in the database; the HMAC makes tokens
unforgeable without the secret from the environment.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from kentongan_cloud.responders.errors import AckRefusedError

_DOMAIN = b"kentongan-ack-link-v1\x00"
_ID_BYTES = 9
_MAC_BYTES = 12
_TOKEN_BYTES = _ID_BYTES + 4 + _MAC_BYTES
REPLY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or typed
REPLY_CODE_LEN = 6


def new_page_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(_ID_BYTES)).decode("ascii")


def new_reply_code() -> str:
    return "".join(secrets.choice(REPLY_ALPHABET) for _ in range(REPLY_CODE_LEN))


@dataclass(frozen=True)
class LinkClaim:
    page_id: str
    expires_at: datetime


class LinkSigner:
    """Makes and checks link tokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            msg = "the acknowledgement secret is empty"
            raise ValueError(msg)
        self._key = hashlib.sha256(_DOMAIN + secret).digest()

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]

    def sign(self, page_id: str, expires_at: datetime) -> str:
        raw_id = base64.urlsafe_b64decode(page_id.encode("ascii"))
        body = raw_id + struct.pack(">I", int(expires_at.timestamp()))
        token = base64.urlsafe_b64encode(body + self._mac(body))
        return token.decode("ascii").rstrip("=")

    def verify(self, token: str, now: datetime) -> LinkClaim:
        """The page a token stands for; raises AckRefusedError (forged or expired)."""
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise AckRefusedError("forged", "token is not base64url") from exc
        if len(raw) != _TOKEN_BYTES:
            raise AckRefusedError("forged", "token has the wrong length")
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(body)):
            raise AckRefusedError("forged", "signature does not match")
        (expiry,) = struct.unpack(">I", body[_ID_BYTES:])
        expires_at = datetime.fromtimestamp(expiry, UTC)
        if now >= expires_at:
            raise AckRefusedError("expired", f"link expired at {expires_at.isoformat()}")
        page_id = base64.urlsafe_b64encode(body[:_ID_BYTES]).decode("ascii")
        return LinkClaim(page_id=page_id, expires_at=expires_at)


def device_hash(device_secret: str) -> str:
    """What the database keeps of the browser cookie that first used a link."""
    return hashlib.sha256(device_secret.encode("utf-8")).hexdigest()
