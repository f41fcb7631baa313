"""Incident annotations through grafana-client, against a local server with Grafana's
`POST /api/annotations` shape (no Grafana server can run here)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kentongan_cloud.grafana.annotations import GrafanaAnnotations
from kentongan_cloud.ports import Annotation
from kentongan_protocol.provisioning.broker_process import free_port

TOKEN = "glsa_test_token"
AT = datetime(2024, 3, 11, 2, 30, 15, 123000, tzinfo=UTC)


class FakeGrafana:
    """Grafana's annotation endpoint: checks the token and the body, answers like Grafana."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        self.answer = threading.Event()
        self.answer.set()
        grafana = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._reply(401, {"message": "Unauthorized"})
                    return
                if self.path != "/api/annotations":
                    self._reply(404, {"message": "Not found"})
                    return
                data = json.loads(body)
                ok = (
                    isinstance(data.get("time"), int)
                    and isinstance(data.get("text"), str)
                    and all(isinstance(t, str) for t in data.get("tags", []))
                )
                if not ok:
                    self._reply(400, {"message": "bad annotation"})
                    return
                grafana.received.append(data)
                grafana.arrived.set()
                grafana.answer.wait(30)
                self._reply(200, {"id": len(grafana.received), "message": "Annotation added"})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    server = FakeGrafana()
    yield server
    server.answer.set()
    server.server.shutdown()
    server.server.server_close()


def fire(token: str = TOKEN, url: str | None = None, **kw: Any) -> Any:
    return GrafanaAnnotations(url=url or "http://127.0.0.1:1", token=token, **kw)


INCIDENT = Annotation(time=AT, text="Kebakaran di Pos RT 05 Poncowati", tags=["kebakaran"])


def test_an_incident_becomes_a_tagged_annotation(grafana: FakeGrafana) -> None:
    async def run() -> Any:
        sink = fire(url=grafana.url)
        await sink.annotate(INCIDENT, "incident-1:opened")
        return await sink.aclose()

    stats = asyncio.run(run())
    assert grafana.received == [
        {
            "time": 1710124215123,
            "timeEnd": None,
            "panelId": None,
            "tags": ["kentongan", "kebakaran"],
            "text": "Kebakaran di Pos RT 05 Poncowati",
        }
    ]
    assert (stats.sent, stats.failed, stats.pending) == (1, 0, 0)


def test_the_same_key_is_sent_once(grafana: FakeGrafana) -> None:
    async def run() -> Any:
        sink = fire(url=grafana.url)
        await sink.annotate(INCIDENT, "incident-1:opened")
        await sink.annotate(INCIDENT, "incident-1:opened")  # still in flight
        await asyncio.sleep(0)
        await sink.aclose()
        return sink

    sink = asyncio.run(run())
    assert len(grafana.received) == 1
    assert sink.stats().duplicates == 1


def test_annotate_returns_before_grafana_answers(grafana: FakeGrafana) -> None:
    grafana.answer.clear()

    async def run() -> tuple[Any, Any]:
        sink = fire(url=grafana.url)
        await sink.annotate(INCIDENT, "incident-2:acknowledged")
        # Grafana now holds the request unanswered, and annotate() has already returned.
        assert await asyncio.to_thread(grafana.arrived.wait, 30)
        while_held = sink.stats()
        grafana.answer.set()
        return while_held, await sink.aclose()

    while_held, after = asyncio.run(run())
    assert (while_held.pending, while_held.sent) == (1, 0)
    assert (after.pending, after.sent) == (0, 1)


def test_grafana_down_or_refusing_costs_a_counted_failure_only(grafana: FakeGrafana) -> None:
    async def run() -> tuple[Any, Any]:
        down = fire(url=f"http://127.0.0.1:{free_port()}")
        refused = fire(url=grafana.url, token="wrong")
        await down.annotate(INCIDENT, "k1")
        await refused.annotate(INCIDENT, "k1")
        return await down.aclose(), await refused.aclose()

    down, refused = asyncio.run(run())
    assert (down.sent, down.failed) == (0, 1)
    assert (refused.sent, refused.failed) == (0, 1)
    assert grafana.received == []


def test_too_many_pending_annotations_are_dropped_not_queued(grafana: FakeGrafana) -> None:
    grafana.answer.clear()

    async def run() -> Any:
        sink = fire(url=grafana.url, max_pending=2)
        for i in range(3):
            await sink.annotate(INCIDENT, f"k{i}")
        held = sink.stats()
        grafana.answer.set()
        await sink.aclose()
        return held

    held = asyncio.run(run())
    assert (held.pending, held.dropped) == (2, 1)
    assert len(grafana.received) == 2
