"""Short messages in Bahasa Indonesia: what, where, since when, who else was told, and how
to acknowledge. One function per form: chat (WhatsApp, Telegram, e-mail) and SMS. A
technician's message about a post's equipment takes the same forms."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from kentongan_cloud.responders.models import AlertContent, Content, FleetContent
from kentongan_cloud.responders.roster import ZONE_ABBREVIATIONS, local_time

SOURCE_WORDS = {
    "button": "tombol panik",
    "sensor": "sensor",
    "phone": "HP petugas",
    "web": "laporan warga",
    "sms": "SMS warga",
}
SMS_SEGMENT = 153  # characters per part of a multi-part GSM-7 SMS


def map_link(lat: float, lon: float) -> str:
    return f"https://maps.google.com/?q={lat:.5f},{lon:.5f}"


def ago(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 1:
        return "baru saja"
    if minutes < 60:
        return f"{minutes} menit lalu"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} jam {rest} menit lalu" if rest else f"{hours} jam lalu"
    return f"{hours // 24} hari lalu"


def clock_time(when: datetime, timezone: str) -> str:
    local = local_time(when, timezone)
    zone = ZONE_ABBREVIATIONS.get(timezone, local.strftime("%Z"))
    return f"{local:%d/%m %H:%M} {zone}"


def headline(c: AlertContent) -> str:
    n = c.notice
    label = n.type_label.upper()
    if c.kind == "closed":
        word = "DIBATALKAN" if n.reason == "cancelled" else "SELESAI"
        head = f"{label} {word}"
    elif c.kind == "escalation":
        head = f"ESKALASI {label}"
    elif c.kind == "reminder":
        head = f"PENGINGAT ke-{c.round}: {label}"
    elif c.kind == "update" and n.confirmed:
        head = f"{label} TERKONFIRMASI"
    else:
        head = label + (" (terkonfirmasi)" if n.confirmed else "")
    drill = "[LATIHAN] " if n.status == "exercise" else ""
    return f"{drill}KENTONGAN - {head}"


def place(c: AlertContent) -> str:
    n = c.notice
    where = f"Kp. {n.kampung_name}, Kec. {c.facts.kecamatan_name}"
    if n.post_name:
        where += f" - {n.post_name}"
    return where


def lines(c: AlertContent, now: datetime) -> list[str]:
    """The message, line by line, before a channel adds its own form."""
    n = c.notice
    since = n.first_occurred_at or n.opened_at
    out = [headline(c), f"Lokasi: {place(c)} ({SOURCE_WORDS[n.source]})"]
    if c.kind == "closed":
        out.append("Tidak perlu tindakan lagi. Terima kasih.")
        return out
    count = f", {n.count}x aktivasi" if n.count > 1 else ""
    out.append(f"Sejak: {clock_time(since, c.facts.timezone)} ({ago(since, now)}){count}")
    if n.historical:
        out.append("Laporan terlambat: pos sempat offline, cek apakah masih perlu bantuan.")
    out.append(f"Peta: {map_link(n.lat, n.lon)}")
    if c.not_answered_by:
        out.append(f"Belum ada yang menerima dari: {', '.join(c.not_answered_by)}")
    if c.also_told:
        out.append(f"Juga diberitahu: {', '.join(c.also_told)}")
    if c.ack_url:
        out.append(f"Terima: {c.ack_url}")
    if c.reply_code:
        out.append(f"atau balas: TERIMA {c.reply_code}")
    return out


FLEET_HEADLINE = "KENTONGAN - GANGGUAN PERANGKAT POS"


def fleet_place(c: FleetContent) -> str:
    return f"Kp. {c.kampung_name}, Kec. {c.kecamatan_name} - {c.alert.post_name}"


def fleet_lines(c: FleetContent, now: datetime) -> list[str]:
    """What is wrong at which post since when: the technician goes there, nobody acks."""
    a = c.alert
    return [
        FLEET_HEADLINE,
        f"Pos: {fleet_place(c)} ({a.gateway_id})",
        f"Masalah: {a.text}",
        f"Sejak: {clock_time(a.raised_at, c.timezone)} ({ago(a.raised_at, now)})",
        "Mohon dicek ke lokasi.",
    ]


def chat_text(c: Content, now: datetime) -> str:
    """For WhatsApp, Telegram and e-mail bodies."""
    return "\n".join(fleet_lines(c, now) if isinstance(c, FleetContent) else lines(c, now))


def subject(c: Content) -> str:
    if isinstance(c, FleetContent):
        return f"{FLEET_HEADLINE} di Kp. {c.kampung_name}"
    return f"{headline(c)} di Kp. {c.notice.kampung_name}"


def gsm7(text: str) -> str:
    """Plain ASCII survives every SMS path (GSM-7 default alphabet); accents are dropped."""
    text = text.replace("\u2014", "-").replace("\u2013", "-")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def sms_text(c: Content, now: datetime) -> str:
    """For SMS: how to acknowledge comes right after what and where, so a modem that must cut
    a long message loses "who else was told" first, never the link."""
    if isinstance(c, FleetContent):
        return gsm7(" | ".join(fleet_lines(c, now)))
    out = lines(c, now)
    ack = [ln for ln in out if ln.startswith(("Terima:", "atau balas:"))]
    rest = [ln for ln in out if ln not in ack]
    body = " | ".join([*rest[:3], *ack, *rest[3:]])
    return gsm7(body.replace("https://maps.google.com", "maps.google.com"))


def sms_parts(text: str, max_parts: int) -> list[str]:
    """Split for modems that send single SMS only: "(1/2) ..." parts of at most 160
    characters, broken at spaces; cut with an ellipsis beyond `max_parts`."""
    if len(text) <= 160:
        return [text]
    width = SMS_SEGMENT - 6
    chunks: list[str] = []
    current = ""
    for raw in text.split(" "):
        word = raw
        while len(word) > width:  # a very long link still fits in pieces
            if current:
                chunks.append(current)
                current = ""
            chunks.append(word[:width])
            word = word[width:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) > width:
            chunks.append(current)
            current = word
        else:
            current = candidate
    if current:
        chunks.append(current)
    if len(chunks) > max_parts:
        chunks = chunks[:max_parts]
        chunks[-1] = chunks[-1][: width - 3] + "..."
    total = len(chunks)
    return [f"({i}/{total}) {chunk}" for i, chunk in enumerate(chunks, 1)]
