"""The cloud as deployed: sinks built from settings, not injected. A panic from a virtual post
becomes an incident; the responders' notifier sends the command centre's signed webhook; the
time-series points arrive in victoria-metrics (through the InfluxDB writer); the annotation
arrives at a Grafana-shaped server; the one-tap link acknowledges, and the acknowledgement
shows on the incident's timeline; an operator's acknowledgement stops escalation."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from kentongan_cloud.clock import ManualClock
from kentongan_protocol.provisioning.tree import Provisioning, load_tree
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness, VirtualPost
from kentongan_testkit.plugin import ClientFactory
from kentongan_testkit.tsdb import VictoriaMetricsProcess

from tests.test_cloud_incidents import operator_token
from tests.test_cloud_intake import acked_ids
from tests.test_dashboards_annotations import TOKEN as GRAFANA_TOKEN
from tests.test_dashboards_annotations import FakeGrafana

DISTRICT = "lamteng"
CC_URL = "https://cc.lamtengkab.example.id/api/kentongan/cap"
CC_SECRET = "cc-" + "c" * 40
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
PUBLIC = "http://kentongan.test"


@dataclass
class Hook:
    headers: dict[str, str]
    body: bytes


@dataclass
class CommandCentreSystem:
    """The command centre's CAP inbox: checks the HMAC signature like a real receiver."""

    received: list[Hook] = field(default_factory=list)
    refused: int = 0

    def start(self) -> ThreadingHTTPServer:
        system = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ts = self.headers.get("X-Kentongan-Timestamp", "")
                mac = hmac.new(CC_SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256)
                if self.headers.get("X-Kentongan-Signature") != "sha256=" + mac.hexdigest():
                    system.refused += 1
                    self.send_response(401)
                else:
                    system.received.append(Hook(dict(self.headers.items()), body))
                    self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


@pytest.fixture
def cc_system() -> Iterator[tuple[CommandCentreSystem, str]]:
    system = CommandCentreSystem()
    server = system.start()
    yield system, f"http://127.0.0.1:{server.server_address[1]}/cap/inbox"
    server.shutdown()
    server.server_close()


@pytest.fixture
def provisioning(config_tree: Path, cc_system: tuple[CommandCentreSystem, str]) -> Provisioning:
    """The sample district with the command centre's webhook on the local receiver."""
    path = config_tree / "district.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(CC_URL, cc_system[1]), "utf-8")
    return load_tree(config_tree)


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    server = FakeGrafana()
    yield server
    server.answer.set()
    server.server.shutdown()
    server.server.server_close()


def _start(
    cloud: CloudFactory,
    vm: VictoriaMetricsProcess,
    grafana: FakeGrafana,
    tmp_path: Path,
    clock: ManualClock,
) -> CloudHarness:
    return cloud.start(
        clock=clock,
        real_sinks=True,
        influx={
            "url": vm.url,
            "token": "vm-ignores-the-token",
            "spool_path": tmp_path / "spool.db",
            "flush_interval_s": 0.2,
        },
        grafana={"url": grafana.url, "token": GRAFANA_TOKEN},
        responders={"public_url": PUBLIC},
    )


def test_a_panic_reaches_responders_influx_and_grafana(
    cloud: CloudFactory,
    mqtt_client: ClientFactory,
    cc_system: tuple[CommandCentreSystem, str],
    victoria_metrics: VictoriaMetricsProcess,
    grafana: FakeGrafana,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KENTONGAN_WEBHOOK_CC", CC_SECRET)
    system, _ = cc_system
    clock = ManualClock()
    h = _start(cloud, victoria_metrics, grafana, tmp_path, clock)
    assert h.runtime.responders is not None
    post = VirtualPost(mqtt_client("tb-poncowati-01"), DISTRICT, "tb-poncowati-01")
    post.listen()
    post.press()
    acked_ids(post, 1)
    clock.advance(31)  # past the cancel window: now responders are told
    op = operator_token(h)
    [inc] = h.api("GET", "/api/v1/incidents", token=op).json()

    # Responders: the command centre's system got the signed CAP alert with the link.
    h.wait_for(lambda: system.received, timeout=20, what="the command centre's webhook")
    assert system.refused == 0
    alert = ET.fromstring(system.received[0].body)  # noqa: S314 - our own CAP, from our test
    link = alert.findtext(f"{CAP}info/{CAP}web")
    assert link is not None
    assert link.startswith(f"{PUBLIC}/t/")
    assert system.received[0].headers["Idempotency-Key"]

    # Time series: the press and the incident's opening in victoria-metrics.
    def stored(match: str) -> list[dict[str, Any]]:
        return victoria_metrics.export(match)

    presses = h.wait_for(
        lambda: stored('{__name__="press_count"}'), timeout=20, what="press points"
    )
    assert presses[0]["metric"]["gateway"] == "tb-poncowati-01"
    opened = h.wait_for(
        lambda: stored('{__name__="incident_step_count",step="opened"}'),
        timeout=20,
        what="incident step points",
    )
    assert opened[0]["metric"]["type"] == "pencurian"
    # The fields and tags the dashboards query (dashboards/SCHEMA.md).
    assert stored('{__name__="incident_step_since_open_s",step="opened",source="button"}')
    post.heartbeat()
    health = h.wait_for(
        lambda: stored('{__name__="gateway_health_uptime_s"}'), timeout=20, what="health points"
    )
    assert health[0]["metric"]["kampung"] == "poncowati"

    # Grafana: the incident's annotation with the project's tag.
    assert grafana.arrived.wait(20)
    assert "kentongan" in grafana.received[0]["tags"]

    # The one-tap link: the page, then the tap; the incident's timeline shows who and how.
    path = link.removeprefix(PUBLIC)
    page = h.api("GET", path)
    assert page.status_code == 200
    assert "Terima" in page.text
    tap = h.api("POST", path)
    assert tap.status_code == 200, tap.text
    assert "Terima kasih" in tap.text

    def responder_note() -> list[dict[str, Any]]:
        detail = h.api("GET", f"/api/v1/incidents/{inc['id']}", token=op).json()
        return [a for a in detail["audit"] if str(a["actor"]).startswith("responder:")]

    [note] = h.wait_for(responder_note, what="the acknowledgement on the timeline")
    assert re.search(r"Diterima oleh .+ lewat link", note["detail"]), note
    acks = h.call(h.runtime.responders.acks.acknowledgements(inc["id"]))
    assert [a.channel for a in acks] == ["link"]


def test_an_operator_acknowledgement_stops_escalation(
    cloud: CloudFactory,
    mqtt_client: ClientFactory,
    cc_system: tuple[CommandCentreSystem, str],
    victoria_metrics: VictoriaMetricsProcess,
    grafana: FakeGrafana,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KENTONGAN_WEBHOOK_CC", CC_SECRET)
    clock = ManualClock()
    h = _start(cloud, victoria_metrics, grafana, tmp_path, clock)
    responders = h.runtime.responders
    assert responders is not None
    post = VirtualPost(mqtt_client("tb-poncowati-01"), DISTRICT, "tb-poncowati-01")
    post.listen()
    post.press()
    acked_ids(post, 1)
    clock.advance(31)  # past the cancel window: now responders are told
    op = operator_token(h)
    [inc] = h.api("GET", "/api/v1/incidents", token=op).json()
    h.wait_for(lambda: cc_system[0].received, timeout=20, what="the first alert")
    r = h.api("POST", f"/api/v1/incidents/{inc['id']}/acknowledge", token=op, json={})
    assert r.status_code == 200, r.text
    acks = h.call(responders.acks.acknowledgements(inc["id"]))
    assert [(a.channel, a.person_id) for a in acks] == [("operator", "operator:sari")]

    async def status() -> str | None:
        async with responders.store.begin() as tx:
            row = await tx.incident(inc["id"])
        return row.status if row else None

    assert h.call(status()) == "done"
