"""Real browser and a real broker: the area-alarm button asks first, then sends the broadcast,
which a virtual gateway receives and acknowledges; the console shows the acknowledgement."""

from __future__ import annotations

from pathlib import Path

import pytest
from kentongan_protocol.payloads import Broadcast, CommandAck
from kentongan_protocol.topics import Suffix, broadcast_topic
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import VirtualPost
from kentongan_testkit.plugin import ClientFactory
from playwright.sync_api import expect

from .conftest import PASSWORD, add_user
from .served import DESKTOP, chromium, serve, shot

DISTRICT = "lamteng"
POST = "tb-poncowati-02"
pytestmark = pytest.mark.slow


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'kentongan.db'}"


def test_area_alarm_asks_then_sounds_and_the_gateway_acknowledges(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    h = cloud.start()
    add_user(h, "sari", "operator")
    post = VirtualPost(mqtt_client(POST), DISTRICT, POST)
    post.listen()
    post.client.subscribe(broadcast_topic(DISTRICT))
    with serve(h) as base, chromium() as chrome:
        page = chrome.new_context(viewport=DESKTOP, base_url=base).new_page()
        page.goto("/konsol/masuk")
        page.get_by_label("Nama pengguna").fill("sari")
        page.get_by_label("Kata sandi").fill(PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        page.get_by_role("link", name="Alarm area").click()
        page.get_by_label("Wilayah").select_option("kp:poncowati")
        page.get_by_role("button", name="Bunyikan area…").click()
        expect(page.locator("h1")).to_have_text("Yakin?")
        expect(page.locator("main")).to_contain_text("Poncowati")
        shot(page, "area-confirm-desktop")
        assert post.client.drain(0.3) == []  # nothing is sent before the confirmation
        page.get_by_role("button", name="Ya, bunyikan").click()

        msg = post.client.get(timeout=15)
        b = Broadcast.model_validate_json(msg.payload)
        assert (b.action, b.pattern, b.area.kampung) == ("area_alarm", "titir", ["poncowati"])
        ack = CommandAck(command_id=b.broadcast_id, result="done")
        post.client.publish(post.topic(Suffix.CMD_ACK), ack.encode())

        async def acked() -> bool:
            async with h.runtime.db.transaction() as tx:
                return bool(await tx.commands.acks_for([str(b.broadcast_id)]))

        h.wait_for(lambda: h.call(acked()), what="the gateway's ack")
        page.reload()
        expect(page.locator("#alarms tbody tr").first.locator(".acks")).to_have_text(
            f"{POST}: done"
        )
        shot(page, "area-alarm-desktop")
        page.locator("#alarms tbody tr").first.get_by_role(
            "button", name="Aman (all-clear)"
        ).click()
        expect(page.locator("h1")).to_have_text("Yakin?")
        page.get_by_role("button", name="Ya, kirim").click()
        clear = Broadcast.model_validate_json(post.client.get(timeout=15).payload)
        assert (clear.action, clear.pattern) == ("all_clear", "aman")
