"""Operators' login: scrypt password hashes, session tokens (cookie or bearer) and CSRF.

Roles: viewer (reads), operator (acts on incidents, sounds areas), supervisor (operator, and
manages), technician (reads, fleet), guard (a post's phone: reports only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

Role = Literal["viewer", "operator", "supervisor", "technician", "guard"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "supervisor", "technician", "guard")
COOKIE = "kentongan_session"
CSRF_HEADER = "X-CSRF-Token"

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash`, all base64 where binary."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
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

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.username}"
