"""Machine forms of a message for webhooks: Kentongan JSON and CAP 1.2 XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from kentongan_cloud.responders.messages import chat_text, headline, map_link, place
from kentongan_cloud.responders.models import AlertContent, FleetContent
from kentongan_cloud.responders.roster import local_time

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_STATUS = {"actual": "Actual", "exercise": "Exercise", "test": "Test"}


def cap_time(when: datetime, timezone: str) -> str:
    """CAP dateTime in the district's local time: whole seconds and an explicit offset;
    CAP 1.2 forbids "Z" and writes UTC as "-00:00"."""
    text = local_time(when, timezone).replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def _identifier(c: AlertContent, idempotency_key: str) -> str:
    return f"kentongan.{c.notice.district}.{c.notice.incident_id}.{idempotency_key}"[:200]


def cap_xml(c: AlertContent, now: datetime, idempotency_key: str) -> bytes:
    """One CAP 1.2 alert. The first alert of an incident is referenced by the updates."""
    n = c.notice
    sender = f"kentongan@{n.district}"
    tz = c.facts.timezone
    ET.register_namespace("", CAP_NS)
    alert = ET.Element(f"{{{CAP_NS}}}alert")

    def add(parent: ET.Element, tag: str, text: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        el.text = text
        return el

    add(alert, "identifier", _identifier(c, idempotency_key))
    add(alert, "sender", sender)
    add(alert, "sent", cap_time(now, tz))
    add(alert, "status", CAP_STATUS[n.status])
    msg_type = {"alert": "Alert", "closed": "Cancel"}.get(c.kind, "Update")
    add(alert, "msgType", msg_type)
    add(alert, "scope", "Restricted")
    add(alert, "restriction", f"Petugas tanggap darurat {c.facts.district_name}")
    if c.kind != "alert":
        first = f"kentongan.{n.district}.{n.incident_id}"
        add(alert, "references", f"{sender},{first},{cap_time(n.opened_at, tz)}")
    add(alert, "incidents", n.incident_id)
    info = add(alert, "info", "")
    info.text = None
    add(info, "language", "id-ID")
    add(info, "category", c.facts.cap_category)
    add(info, "event", n.type_label)
    add(info, "responseType", "AllClear" if c.kind == "closed" else "Monitor")
    add(info, "urgency", "Past" if c.kind == "closed" else c.facts.urgency)
    add(info, "severity", c.facts.severity)
    add(info, "certainty", "Observed" if n.confirmed else "Likely")
    add(info, "onset", cap_time(n.first_occurred_at or n.opened_at, tz))
    add(info, "senderName", f"Kentongan {c.facts.district_name}")
    add(info, "headline", headline(c)[:160])
    add(info, "description", chat_text(c, now))
    if c.ack_url:
        add(info, "instruction", f"Terima (konfirmasi penerimaan): {c.ack_url}")
        add(info, "web", c.ack_url)
    for name, value in (
        ("kentongan_incident_id", n.incident_id),
        ("kentongan_reason", n.reason),
        ("kentongan_count", str(n.count)),
        ("kentongan_source", n.source),
        ("kentongan_reply_code", c.reply_code or ""),
    ):
        param = add(info, "parameter", "")
        param.text = None
        add(param, "valueName", name)
        add(param, "value", value)
    area = add(info, "area", "")
    area.text = None
    add(area, "areaDesc", f"{place(c)}, {c.facts.district_name}")
    add(area, "circle", f"{n.lat:.5f},{n.lon:.5f} 0.5")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(
        alert, encoding="unicode"
    ).encode("utf-8")


def json_body(c: AlertContent, now: datetime, idempotency_key: str) -> bytes:
    """Kentongan's own JSON: the notice as the core sent it, plus what a person would read."""
    doc = {
        "type": "kentongan.incident",
        "version": 1,
        "kind": c.kind,
        "idempotency_key": idempotency_key,
        "sent_at": now.astimezone(UTC).isoformat(),
        "incident": c.notice.model_dump(mode="json"),
        "recipient": {"person_id": c.recipient.person_id, "agency_id": c.recipient.agency_id},
        "ack": {"url": c.ack_url, "reply_code": c.reply_code},
        "also_told": c.also_told,
        "not_answered_by": c.not_answered_by,
        "map": map_link(c.notice.lat, c.notice.lon),
        "text": chat_text(c, now),
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fleet_json_body(c: FleetContent, now: datetime, idempotency_key: str) -> bytes:
    """A technician's alert for a maintenance system: the alert as the core raised it."""
    doc = {
        "type": "kentongan.fleet_alert",
        "version": 1,
        "idempotency_key": idempotency_key,
        "sent_at": now.astimezone(UTC).isoformat(),
        "alert": c.alert.model_dump(mode="json"),
        "recipient": {"person_id": c.recipient.person_id, "agency_id": c.recipient.agency_id},
        "text": chat_text(c, now),
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
