"""Web pages under test: a browser-like HTTP client that keeps cookies, on the cloud's loop."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from kentongan_cloud.api.app import create_app
from kentongan_cloud.api.auth import hash_password
from kentongan_cloud.records import UserRecord
from kentongan_cloud.store.db import Tx
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness
from PIL import Image
from playwright.sync_api import Browser as PlaywrightBrowser

from .served import PASSWORD, chromium, serve

__all__ = ["PASSWORD", "Browser", "ack_link_path", "add_user", "jpeg_with_gps", "report_incident"]


def add_user(h: CloudHarness, name: str, role: str, gateway: str | None = None) -> None:
    async def add(tx: Tx) -> None:
        await tx.users.upsert(
            UserRecord(name, hash_password(PASSWORD), role, gateway, True), datetime.now(UTC)
        )

    h.db(add)


def report_incident(h: CloudHarness, incident_type: str = "kebakaran") -> str:
    """A resident's report through the public API; returns the incident it opened."""
    kampung = sorted(h.runtime.directory.places)[0]
    r = h.api("POST", "/api/v1/reports", json={"incident_type": incident_type, "kampung": kampung})
    assert r.status_code == 201, r.text
    code = r.json()["tracking_code"]

    async def incident_id(tx: Tx) -> str:
        rep = await tx.incidents.report(code)
        assert rep is not None
        return str(rep.incident_id)

    return h.db(incident_id)


def ack_link_path(h: CloudHarness, incident_id: str) -> str:
    """The one-tap link path (/t/…) of the first person the responders paged."""
    responders = h.runtime.responders
    assert responders is not None, "start the cloud with real_sinks=True"

    async def first_link() -> str | None:
        async with responders.store.begin() as tx:
            deliveries = await tx.deliveries_of(incident_id)
        for d in deliveries:
            url = json.loads(d.content_json).get("ack_url")
            if url:
                return "/t/" + str(url).rpartition("/t/")[2]
        return None

    return h.wait_for(lambda: h.call(first_link()), timeout=20, what="a page with a link")


class Browser:
    """Plain HTTP with a cookie jar, as a phone without JavaScript would send it."""

    def __init__(self, h: CloudHarness) -> None:
        self.h = h
        app = create_app(h.settings, runtime=h.runtime)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://kentongan.test"
        )

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.h.call(self.client.get(path, **kw))

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.h.call(self.client.post(path, **kw))

    def csrf(self, html: str) -> str:
        m = re.search(r'name="csrf" value="([^"]+)"', html)
        assert m is not None, "no CSRF field in the page"
        return m.group(1)

    def close(self) -> None:
        self.h.call(self.client.aclose())


@pytest.fixture
def web(cloud: CloudFactory) -> CloudHarness:
    return cloud.start(mqtt=False, outbox=False, sweeper=False)


@pytest.fixture
def browser(web: CloudHarness) -> Any:
    b = Browser(web)
    yield b
    b.close()


def jpeg_with_gps(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG carrying EXIF with a GPS position and a camera make, as phones write them."""
    img = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "KentonganPhone"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "S"
    gps[2] = (5.0, 6.0, 7.0)
    gps[3] = "E"
    gps[4] = (105.0, 16.0, 0.0)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@contextmanager
def served_cloud(cloud: CloudFactory, **start: Any) -> Iterator[tuple[CloudHarness, str]]:
    """The app over real HTTP (no broker) with an operator "sari": (harness, base URL)."""
    h = cloud.start(mqtt=False, sweeper=False, **start)
    add_user(h, "sari", "operator")
    with serve(h) as base:
        yield h, base


@pytest.fixture
def site(cloud: CloudFactory) -> Iterator[tuple[CloudHarness, str]]:
    """Served without an outbox; browser test modules pick SQLite for `db_url`."""
    with served_cloud(cloud, outbox=False) as served:
        yield served


@pytest.fixture
def chrome() -> Iterator[PlaywrightBrowser]:
    with chromium() as b:
        yield b
