"""Broker passwords kept beside the broker config, one root-only file per account.

They are generated on first use and never written into the provisioning YAML, which lives
in version control.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from kentongan_protocol.ids import is_id


class SecretStore:
    """A directory of `<account>.password` files, mode 0600 in a 0700 directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, account: str) -> Path:
        if not is_id(account):
            msg = f"account name {account!r} is not a valid id"
            raise ValueError(msg)
        return self.directory / f"{account}.password"

    def get_or_create(self, account: str) -> str:
        path = self._path(account)
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        password = secrets.token_urlsafe(24)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password + "\n")
        return password

    def get(self, account: str) -> str | None:
        path = self._path(account)
        return path.read_text(encoding="utf-8").strip() if path.exists() else None

    def forget(self, account: str) -> bool:
        """Delete an account's password (a revoked gateway must never get it back)."""
        path = self._path(account)
        if path.exists():
            path.unlink()
            return True
        return False
