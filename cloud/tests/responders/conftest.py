"""Fixtures: storage on SQLite and PostgreSQL, the fake providers, a real SMTP server, the
sample district wired to them, and a manual clock."""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from kentongan_cloud.responders import ManualClock, Responders, ResponderSettings, build_responders
from kentongan_cloud.store.base import make_engine
from kentongan_cloud.store.responders import Engine, ResponderStore
from kentongan_protocol.provisioning.tree import Provisioning, load_tree
from kentongan_testkit.pgserver import PgServer

from .fakes import (
    TG_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    WA_PHONE_ID,
    WA_TOKEN,
    FakeModem,
    FakeTelegram,
    FakeTwilio,
    FakeWebhookReceiver,
    FakeWhatsApp,
)
from .support import MONDAY_NIGHT

ACK_SECRET = "k" * 16 + secrets.token_hex(16)
WEBHOOK_SECRETS = {
    "KENTONGAN_WEBHOOK_PSC119": "psc119-" + "s" * 32,
    "KENTONGAN_WEBHOOK_BPBD": "bpbd-" + "b" * 32,
    "KENTONGAN_WEBHOOK_CC": "cc-" + "c" * 32,
}
WEBHOOK_URLS = {
    "https://psc119.lamtengkab.example.id/api/v1/incoming/kentongan": "/psc119",
    "https://pusdalops.lamtengkab.example.id/cap/inbox": "/bpbd",
    "https://cc.lamtengkab.example.id/api/kentongan/cap": "/cc",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def pg_database(postgres_server: PgServer) -> Iterator[str]:
    """A throw-away database on the session's PostgreSQL server, dropped at the end."""
    name = postgres_server.create_database(f"kentongan_responders_test_{secrets.token_hex(6)}")
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'responders.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[Engine]:
    eng = make_engine(db_url)
    store = ResponderStore(eng)
    await store.drop_tables()
    await store.create_tables()
    yield eng
    await eng.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_NIGHT)


@dataclass
class Providers:
    whatsapp: FakeWhatsApp
    sms: FakeTwilio
    telegram: FakeTelegram
    hooks: FakeWebhookReceiver


@pytest.fixture
def providers() -> Iterator[Providers]:
    made = Providers(
        FakeWhatsApp(),
        FakeTwilio(),
        FakeTelegram(),
        FakeWebhookReceiver(
            {
                path: WEBHOOK_SECRETS[f"KENTONGAN_WEBHOOK_{key}"]
                for path, key in (("/psc119", "PSC119"), ("/bpbd", "BPBD"), ("/cc", "CC"))
            }
        ),
    )
    yield made
    for p in (made.whatsapp, made.sms, made.telegram, made.hooks):
        p.stop()


class Mailbox:
    """aiosmtpd handler keeping what the real SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.messages.append(envelope)
        return "250 2.0.0 Ok: queued as KENTONGAN1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def modem() -> Iterator[FakeModem]:
    m = FakeModem()
    yield m
    m.stop()


@pytest.fixture
def district(config_tree: Path, providers: Providers) -> Provisioning:
    """The sample district with its webhooks pointed at the local receiver."""
    path = config_tree / "district.yaml"
    text = path.read_text(encoding="utf-8")
    for url, local in WEBHOOK_URLS.items():
        text = text.replace(url, providers.hooks.base + local)
    path.write_text(text, encoding="utf-8")
    return load_tree(config_tree)


def make_settings(
    providers: Providers, smtp_port: int | None = None, **over: Any
) -> ResponderSettings:
    doc: dict[str, Any] = {
        "public_url": "https://kentongan.lamtengkab.example.id",
        "ack_secret": ACK_SECRET,
        "http_timeout_s": 5.0,
        "whatsapp": {
            "token": WA_TOKEN,
            "phone_number_id": WA_PHONE_ID,
            "api_base": providers.whatsapp.base,
        },
        "sms": {
            "account_sid": TWILIO_SID,
            "auth_token": TWILIO_TOKEN,
            "from_number": "+6281100000000",
            "api_base": providers.sms.base,
        },
        "telegram": {
            "bot_token": TG_TOKEN,
            "api_base": providers.telegram.base,
            "webhook_secret": "tg-webhook-secret",
        },
    }
    if smtp_port is not None:
        doc["smtp"] = {
            "host": "127.0.0.1",
            "port": smtp_port,
            "starttls": False,
            "from_addr": "kentongan@lamtengkab.example.id",
        }
    doc.update(over)
    return ResponderSettings.model_validate(doc)


@pytest.fixture
def settings(providers: Providers, smtp_server: tuple[Mailbox, int]) -> ResponderSettings:
    return make_settings(providers, smtp_server[1])


@pytest.fixture
async def responders(
    engine: Engine, district: Provisioning, settings: ResponderSettings, clock: ManualClock
) -> AsyncIterator[Responders]:
    r = await build_responders(
        engine, district.district, settings, env=WEBHOOK_SECRETS, clock=clock
    )
    yield r
    await r.aclose()
