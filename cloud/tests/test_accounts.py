"""Accounts: argon2id hashes (older scrypt ones and older parameters rehashed at login), the
admin API for accounts with its audit log, and `create-user` for admins and responders."""

from __future__ import annotations

import base64
import hashlib
import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from kentongan_cloud.api.auth import hash_password, needs_rehash, verify_password
from kentongan_cloud.cli import main
from kentongan_cloud.records import UserRecord
from kentongan_cloud.store.db import Tx
from kentongan_testkit.cloudharness import CloudHarness

from .conftest import PASSWORD, Login

WEAK = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def scrypt_hash(password: str) -> str:
    """A hash as the cloud made them before argon2."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    b64 = base64.b64encode
    return f"scrypt$16384$8$1${b64(salt).decode()}${b64(digest).decode()}"


def test_new_hashes_are_argon2id_and_verify() -> None:
    h = hash_password(PASSWORD)
    assert h.startswith("$argon2id$")
    assert verify_password(PASSWORD, h)
    assert not verify_password("salah", h)
    assert not needs_rehash(h)


@pytest.mark.parametrize("stored", ["", "plain", "$argon2id$garbage", "scrypt$1$2$3$x$y", "a$b"])
def test_malformed_hashes_never_verify(stored: str) -> None:
    assert not verify_password(PASSWORD, stored)


def test_older_hashes_verify_and_need_a_rehash() -> None:
    old = scrypt_hash(PASSWORD)
    assert verify_password(PASSWORD, old)
    assert not verify_password("salah", old)
    weak = WEAK.hash(PASSWORD)
    assert verify_password(PASSWORD, weak)
    assert needs_rehash(old)
    assert needs_rehash(weak)


def stored_hash(api: CloudHarness, name: str) -> str:
    async def get(tx: Tx) -> str:
        user = await tx.users.get(name)
        assert user is not None
        return user.password_hash

    return api.db(get)


def audit(api: CloudHarness, admin: str, name: str) -> list[tuple[str, str, str]]:
    r = api.api("GET", f"/api/v1/users/{name}/audit", token=admin)
    assert r.status_code == 200, r.text
    return [(a["actor"], a["action"], a["detail"]) for a in r.json()]


@pytest.mark.parametrize("kind", ["scrypt", "weak-argon2"])
def test_login_rehashes_an_older_hash(api: CloudHarness, login: Login, kind: str) -> None:
    old = scrypt_hash(PASSWORD) if kind == "scrypt" else WEAK.hash(PASSWORD)

    async def add(tx: Tx) -> None:
        await tx.users.upsert(UserRecord("lama", old, "operator", None, True), datetime.now(UTC))

    api.db(add)
    body = {"username": "lama", "password": PASSWORD}
    assert api.api("POST", "/api/v1/auth/login", json=body).status_code == 200
    new = stored_hash(api, "lama")
    assert new.startswith("$argon2id$")
    assert not needs_rehash(new)
    assert api.api("POST", "/api/v1/auth/login", json=body).status_code == 200
    assert stored_hash(api, "lama") == new  # once is enough
    scheme = "scrypt" if kind == "scrypt" else "argon2id"
    assert audit(api, login("admin"), "lama") == [
        ("system", "rehash", f"{scheme} hash replaced by argon2id with today's parameters")
    ]


def test_an_admin_manages_accounts_and_every_change_is_audited(
    api: CloudHarness, login: Login
) -> None:
    admin = login("admin", name="root")
    new = {"username": "andi", "password": "sandi-rahasia-1", "role": "responder"}
    r = api.api("POST", "/api/v1/users", token=admin, json=new | {"agency_id": "damkar-lamteng"})
    assert (r.status_code, r.json()["agency_id"]) == (201, "damkar-lamteng"), r.text
    r = api.api("POST", "/api/v1/users", token=admin, json=new | {"agency_id": "damkar-lamteng"})
    assert (r.status_code, r.json()["detail"]) == (
        409,
        "user andi exists; reset its password or disable it instead",
    )
    login_body = {"username": "andi", "password": "sandi-rahasia-1"}
    token = api.api("POST", "/api/v1/auth/login", json=login_body).json()["token"]
    me = api.api("GET", "/api/v1/auth/me", token=token).json()
    assert (me["role"], me["agency_id"]) == ("responder", "damkar-lamteng")

    r = api.api("POST", "/api/v1/users/andi/disable", token=admin)
    assert (r.status_code, r.json()["active"]) == (200, False)
    assert api.api("GET", "/api/v1/auth/me", token=token).status_code == 401  # session ended
    assert api.api("POST", "/api/v1/auth/login", json=login_body).status_code == 401
    assert api.api("POST", "/api/v1/users/andi/enable", token=admin).status_code == 200
    r = api.api(
        "POST", "/api/v1/users/andi/password", token=admin, json={"password": "sandi-baru-22"}
    )
    assert r.status_code == 200, r.text
    assert api.api("POST", "/api/v1/auth/login", json=login_body).status_code == 401
    login_body["password"] = "sandi-baru-22"
    assert api.api("POST", "/api/v1/auth/login", json=login_body).status_code == 200

    users = api.api("GET", "/api/v1/users", token=admin).json()
    assert [(u["username"], u["role"], u["active"]) for u in users] == [
        ("andi", "responder", True),
        ("root", "admin", True),
    ]
    assert audit(api, admin, "andi") == [
        ("admin:root", "create", "role responder agency damkar-lamteng"),
        ("admin:root", "disable", ""),
        ("admin:root", "enable", ""),
        ("admin:root", "reset_password", ""),
    ]
    r = api.api("POST", "/api/v1/users/root/disable", token=admin)
    assert (r.status_code, r.json()["detail"]) == (
        409,
        "an admin may not disable their own account (ask another admin)",
    )
    r = api.api("POST", "/api/v1/users/nobody/disable", token=admin)
    assert (r.status_code, r.json()["detail"]) == (404, "user nobody not found")


@pytest.mark.parametrize(
    ("extra", "refusal"),
    [
        ({"role": "responder"}, "a responder needs an agency (an agency id of the district file)"),
        (
            {"role": "responder", "agency_id": "polsek-mars"},
            "unknown agency 'polsek-mars'; the district file has: polsek-gunung-sugih,",
        ),
        (
            {"role": "operator", "agency_id": "damkar-lamteng"},
            "only responders belong to an agency; a operator has none",
        ),
        ({"role": "guard"}, "a guard needs a gateway (the post whose phone this is)"),
    ],
)
def test_an_account_that_does_not_fit_is_refused_with_words(
    api: CloudHarness, login: Login, extra: dict[str, str], refusal: str
) -> None:
    body = {"username": "baru", "password": "sandi-rahasia-1"} | extra
    r = api.api("POST", "/api/v1/users", token=login("admin"), json=body)
    assert r.status_code == 422
    assert r.json()["detail"].startswith(refusal)


@pytest.fixture
def cli_env(
    db_url: str, config_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KENTONGAN_DATABASE__URL", db_url)
    monkeypatch.setenv("KENTONGAN_CONFIG_DIR", str(config_tree))
    monkeypatch.setenv("KENTONGAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["--role", "responder"], "a responder needs an agency"),
        (["--role", "responder", "--agency", "polsek-mars"], "unknown agency 'polsek-mars'"),
        (["--role", "admin", "--agency", "damkar-lamteng"], "only responders belong"),
    ],
)
def test_create_user_refuses_a_responder_without_a_known_agency(
    capsys: pytest.CaptureFixture[str], args: list[str], refusal: str
) -> None:
    assert main(["create-user", "andi", *args, "--password-stdin"]) == 78
    assert f"kentongan-cloud: {refusal}" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_env")
def test_create_user_makes_a_responder_of_an_agency(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["create-user", "andi", "--role", "responder", "--agency", "psc119-lamteng"]
    assert main([*argv, "--password-stdin"]) == 0
    assert "user andi (responder) created" in capsys.readouterr().out
