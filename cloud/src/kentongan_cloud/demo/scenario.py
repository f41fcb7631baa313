"""The scenario: two panics, confirmation, neighbours' sirens, notification and one-tap
acknowledgement, escalation on the demo clock, then the all-clear; each step printed."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx
from kentongan_edge.virtual import VirtualGateway

from kentongan_cloud.demo.clock import DemoClock
from kentongan_cloud.demo.errors import DemoError
from kentongan_cloud.demo.receiver import Delivered, Receiver
from kentongan_cloud.demo.timeline import Timeline

T = TypeVar("T")

OPERATOR = "operator"
FIRST_POST = "tb-poncowati-01"
SECOND_POST = "tb-poncowati-02"
PANIC_INPUT = "tombol_pencurian"
WAIT_S = 30.0
LINK = re.compile(r"https?://[^\s\"<>]+/t/[A-Za-z0-9_\-.~%]+")


@dataclass
class Scenario:
    base_url: str
    password: str
    gateways: dict[str, VirtualGateway]
    receiver: Receiver
    clock: DemoClock
    ack_timeout_s: int
    abort: threading.Event
    timeline: Timeline = field(default_factory=Timeline)
    token: str = ""

    def wait(self, check: Callable[[], T | None], what: str, timeout: float = WAIT_S) -> T:
        deadline = time.monotonic() + timeout
        while True:
            if self.abort.is_set():
                msg = "stopped"
                raise DemoError(msg)
            got = check()
            if got:
                return got
            if time.monotonic() > deadline:
                msg = f"timed out waiting for {what}"
                raise DemoError(msg)
            time.sleep(0.05)

    def api(self, http: httpx.Client, method: str, path: str, **kw: Any) -> Any:
        r = http.request(method, path, headers={"Authorization": f"Bearer {self.token}"}, **kw)
        if r.status_code >= 400:
            msg = f"{method} {path}: {r.status_code} {r.text[:300]}"
            raise DemoError(msg)
        return r.json()

    def run(self) -> None:
        tl = self.timeline
        with httpx.Client(base_url=self.base_url, timeout=15) as http:
            r = http.post(
                "/api/v1/auth/login", json={"username": OPERATOR, "password": self.password}
            )
            if r.status_code != 200:
                msg = f"operator login failed: {r.status_code} {r.text[:200]}"
                raise DemoError(msg)
            self.token = str(r.json()["token"])
            self._play(http, tl)

    def _play(self, http: httpx.Client, tl: Timeline) -> None:
        first = self.gateways[FIRST_POST]
        tl.t0 = time.monotonic()
        tl.say(
            "1. Tombol panik ditahan (panic button held)",
            f"{first.cfg.gateway.post_name} ({FIRST_POST}), {PANIC_INPUT}",
        )
        events = first.press(PANIC_INPUT)
        panics = [e for e in events if e.kind == "panic"]
        if not panics:
            msg = f"{FIRST_POST} recorded no panic"
            raise DemoError(msg)
        press = panics[0]
        self.wait(lambda: first.alarms, "the local siren")
        tl.say("2. Sirine lokal berbunyi (local siren on)", f"{FIRST_POST}, tanpa menunggu cloud")

        [inc] = self.wait(lambda: self.incidents(http), "the incident")
        opened = datetime.fromisoformat(inc["opened_at"])
        ms = (opened - press.occurred_at).total_seconds() * 1000
        tl.say(
            "3. Insiden tercatat (incident committed)",
            f"{inc['type_label']} di {inc['post_name']}, {ms:.0f} ms sejak tombol ditekan "
            f"(since the press), id {inc['id']}",
        )
        paths = self._confirm(http, tl)
        self._notify_and_ack(http, tl, paths)
        self._escalate(tl)
        self._all_clear(http, tl, paths)

    def incidents(self, http: httpx.Client) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = self.api(http, "GET", "/api/v1/incidents")
        return got

    def _confirm(self, http: httpx.Client, tl: Timeline) -> list[str]:
        second = self.gateways[SECOND_POST]

        tl.say(
            "4. Aktivasi kedua (second activation)",
            f"{second.cfg.gateway.post_name} ({SECOND_POST}), {PANIC_INPUT}",
        )
        second.press(PANIC_INPUT)

        def confirmed() -> list[dict[str, Any]] | None:
            got = self.incidents(http)
            return got if len(got) == 2 and all(i["confirmed"] for i in got) else None

        both = self.wait(confirmed, "the confirmation")
        paths = [f"/api/v1/incidents/{i['id']}" for i in both]
        tl.say(
            "5. Insiden terkonfirmasi (incident confirmed)",
            "aktivasi kedua dalam 2 menit di pos tetangga (second activation within 2 minutes "
            "at a neighbouring post): kedua insiden terkonfirmasi (both incidents confirmed)",
        )

        def acked_commands() -> list[dict[str, Any]] | None:
            cmds: list[dict[str, Any]] = []
            for p in paths:
                d: dict[str, Any] = self.api(http, "GET", p)
                cmds += [c for c in d["commands"] if c["action"] == "siren_on"]
            if cmds and all(c["acks"] for c in cmds):
                return cmds
            return None

        cmds = self.wait(acked_commands, "the neighbours' siren command acks")
        for c in cmds:
            for a in c["acks"]:
                gw = self.gateways.get(a["gateway_id"])
                on = bool(gw.alarms) if gw is not None else False
                siren = "berbunyi (sounding)" if on else "diam (silent)"
                tl.say(
                    "6. Sirine tetangga berbunyi (neighbour siren on)",
                    f"{a['gateway_id']}: perintah {c['action']} dari cloud diterima (command "
                    f"ack: {a['result']}), sirene {siren}",
                )
        return paths

    def new_messages(self, since: int) -> list[Delivered]:
        return self.receiver.snapshot()[since:]

    def _notify_and_ack(self, http: httpx.Client, tl: Timeline, paths: list[str]) -> None:

        self.wait(lambda: self.new_messages(0), "the first notification")
        time.sleep(1.0)  # let the rest of the first round arrive
        batch = self.new_messages(0)
        with_link = [m for m in batch if LINK.search(m.text)]
        shown = with_link[0] if with_link else batch[0]
        tl.say(
            "7. Notifikasi terkirim (notification sent)",
            f"{len(batch)} pesan (messages); contoh {shown.channel} ke {shown.to}:",
        )
        tl.more(shown.text)
        if not with_link:
            msg = "no notification carried an acknowledgement link"
            raise DemoError(msg)
        url = LINK.findall(shown.text)[0]
        page = http.get(url)
        if page.status_code != 200:
            msg = f"GET {url}: {page.status_code}"
            raise DemoError(msg)
        tl.say("8. Tautan Terima dibuka (one-tap link opened)", f"GET {url} → {page.status_code}")
        tap = http.post(url)
        if tap.status_code != 200:
            msg = f"POST {url}: {tap.status_code} {tap.text[:200]}"
            raise DemoError(msg)
        tl.say("9. Terima ditekan (Terima tapped)", f"POST → {tap.status_code}")

        def responder_note() -> list[dict[str, Any]]:
            notes: list[dict[str, Any]] = []
            for p in paths:
                d: dict[str, Any] = self.api(http, "GET", p)
                notes += [a for a in d["audit"] if str(a["actor"]).startswith("responder:")]
            return notes

        [note] = self.wait(responder_note, "the acknowledgement on the incident's timeline")
        tl.say("10. Penerimaan tercatat (acknowledgement recorded)", str(note["detail"]))

    def _escalate(self, tl: Timeline) -> None:

        sent_before = len(self.receiver.snapshot())
        skip = self.ack_timeout_s + 5
        self.clock.skip(skip)
        tl.say(
            "11. Jam demo dimajukan (demo clock advanced)",
            f"+{skip} s: belum ada yang menerima dari instansi lain dalam {self.ack_timeout_s} s "
            f"(no one else acknowledged within the timeout)",
        )
        self.wait(lambda: self.new_messages(sent_before), "the escalation")
        time.sleep(1.0)
        batch = self.new_messages(sent_before)
        who = sorted({f"{m.channel}:{m.to}" for m in batch})
        tl.say(
            "12. Eskalasi (escalation)",
            f"{len(batch)} pesan ronde berikutnya (next round): {', '.join(who)}",
        )
        tl.more(batch[0].text.splitlines()[0] if batch[0].text else "")

    def _all_clear(self, http: httpx.Client, tl: Timeline, paths: list[str]) -> None:
        for p in paths:
            self.api(http, "POST", f"{p}/resolve", json={"note": "Aman, pelaku sudah kabur"})
        tl.say(
            "13. Operator menyatakan aman (all-clear)",
            f"operator '{OPERATOR}' menutup {len(paths)} insiden (closes the incidents)",
        )

        def off_acked() -> list[dict[str, Any]] | None:
            cmds: list[dict[str, Any]] = []
            for p in paths:
                d: dict[str, Any] = self.api(http, "GET", p)
                cmds += [c for c in d["commands"] if c["action"] == "siren_off"]
            return cmds if cmds and all(c["acks"] for c in cmds) else None

        def cloud_sirens() -> list[str]:
            return [
                g.gateway_id
                for g in self.gateways.values()
                if any(k.startswith("alarm:") for k in g.alarms)
            ]

        cmds = self.wait(off_acked, "the siren_off acks")
        self.wait(lambda: not cloud_sirens(), "the sirens the cloud started to stop")
        for c in cmds:
            for a in c["acks"]:
                tl.say(
                    "14. Sirine berhenti (sirens stopped)",
                    f"{a['gateway_id']}: perintah siren_off diterima (command ack: "
                    f"{a['result']}, {a['detail']})",
                )
        local = sorted(g.gateway_id for g in self.gateways.values() if g.alarms)
        if local:
            tl.more(
                f"sirene lokal di pos penekan ({', '.join(local)}) berhenti sendiri setelah "
                "max_siren_s (local sirens at the pressing posts run out by themselves)"
            )
