"""Logins: argon2id password hashes, session tokens (cookie or bearer) and CSRF.

Roles: viewer (reads), operator (acts on incidents, sounds areas), supervisor (operator, and
manages), technician (reads, fleet), admin (all of these, and manages accounts), responder
(one agency's incidents only: reads, acknowledges, notes), guard (a post's phone: reports).

Hashes made before argon2 (scrypt) still verify; login replaces them, and argon2 hashes
made with other parameters than today's, with a fresh hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Role = Literal["viewer", "operator", "supervisor", "technician", "admin", "responder", "guard"]
ROLES: tuple[Role, ...] = (
    "viewer",
    "operator",
    "supervisor",
    "technician",
    "admin",
    "responder",
    "guard",
)
COOKIE = "kentongan_session"
CSRF_HEADER = "X-CSRF-Token"

HASHER = PasswordHasher()
"""argon2id with the library's parameters (RFC 9106's low-memory profile)."""
_ARGON2 = "$argon2"


def hash_password(password: str, hasher: PasswordHasher = HASHER) -> str:
    return hasher.hash(password)


def verify_password(password: str, stored: str, hasher: PasswordHasher = HASHER) -> bool:
    if stored.startswith(_ARGON2):
        try:
            return hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    return _verify_scrypt(password, stored)


def needs_rehash(stored: str, hasher: PasswordHasher = HASHER) -> bool:
    """True for scrypt hashes and argon2 ones made with other parameters."""
    return not stored.startswith(_ARGON2) or hasher.check_needs_rehash(stored)


def _verify_scrypt(password: str, stored: str) -> bool:
    """`scrypt$n$r$p$salt$hash` (base64 where binary), the scheme before argon2."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 1024 * 1024,
            dklen=32,
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def new_token() -> tuple[str, str]:
    """A session token and the hash stored for it (the token itself is never stored)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and how they proved it."""

    username: str
    role: Role
    gateway_id: str | None
    via: Literal["bearer", "cookie"]
    csrf_token: str
    agency_id: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.username}"
