"""CAP 1.2 (OASIS Common Alerting Protocol) for an incident: fields and XML export.

One `info` block in Bahasa Indonesia and one in English; the area is the post's circle (the
type's fan-out radius) with the kampung's Kemendagri code as geocode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal
from xml.etree import ElementTree as ET

from kentongan_protocol.provisioning.district import IncidentType

from kentongan_cloud.domain.incident import Incident
from kentongan_cloud.domain.sites import Place

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
_TZ = {
    "Asia/Jakarta": timezone(timedelta(hours=7)),
    "Asia/Makassar": timezone(timedelta(hours=8)),
    "Asia/Jayapura": timezone(timedelta(hours=9)),
}


@dataclass(frozen=True, slots=True)
class CapFields:
    """The CAP 1.2 fields of an incident, derived from its type and its state."""

    status: Literal["Actual", "Exercise", "Test"]
    msg_type: Literal["Alert", "Update", "Cancel"]
    category: str
    urgency: str
    severity: str
    certainty: Certainty
    radius_km: float


def cap_fields(inc: Incident, itype: IncidentType) -> CapFields:
    status: Literal["Actual", "Exercise", "Test"] = {
        "actual": "Actual",
        "exercise": "Exercise",
        "test": "Test",
    }[inc.status]  # type: ignore[assignment]
    if inc.state in ("cancelled", "false_alarm"):
        msg_type: Literal["Alert", "Update", "Cancel"] = "Cancel"
    elif inc.state == "new" and not inc.confirmed:
        msg_type = "Alert"
    else:
        msg_type = "Update"
    certainty: Certainty
    if inc.confirmed:
        certainty = "Observed"
    elif inc.source in ("web", "sms"):
        certainty = "Possible"
    else:
        certainty = "Likely"
    urgency = "Past" if inc.historical or not inc.is_open else itype.urgency
    return CapFields(
        status=status,
        msg_type=msg_type,
        category=itype.cap_category,
        urgency=urgency,
        severity=itype.severity,
        certainty=certainty,
        radius_km=max(itype.fanout_radius_m, 100) / 1000,
    )


def _cap_time(t: datetime, tz: timezone) -> str:
    # CAP dateTime: no fractional seconds, explicit offset (never "Z").
    return t.astimezone(tz).replace(microsecond=0).isoformat()


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    el.text = text
    return el


def cap_xml(
    inc: Incident,
    itype: IncidentType,
    place: Place,
    *,
    sender: str,
    district_name: str,
    timezone_name: str,
    sent: datetime,
) -> bytes:
    """The incident as a CAP 1.2 alert document (UTF-8 XML)."""
    tz = _TZ.get(timezone_name, UTC)
    f = cap_fields(inc, itype)
    ET.register_namespace("", CAP_NS)
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(alert, "identifier", f"kentongan-{inc.district}-{inc.id}")
    _sub(alert, "sender", sender)
    _sub(alert, "sent", _cap_time(sent, tz))
    _sub(alert, "status", f.status)
    _sub(alert, "msgType", f.msg_type)
    _sub(alert, "scope", "Restricted")
    _sub(alert, "restriction", f"Responders of {district_name}")
    where = f"{inc.post_name or 'Laporan warga'}, Kampung {place.kampung_name}, "
    where += f"Kecamatan {place.kecamatan_name}"
    for lang, label in (("id-ID", itype.label), ("en-US", itype.label_en)):
        info = ET.SubElement(alert, f"{{{CAP_NS}}}info")
        _sub(info, "language", lang)
        _sub(info, "category", f.category)
        _sub(info, "event", label)
        _sub(info, "urgency", f.urgency)
        _sub(info, "severity", f.severity)
        _sub(info, "certainty", f.certainty)
        code = ET.SubElement(info, f"{{{CAP_NS}}}eventCode")
        _sub(code, "valueName", "kentongan")
        _sub(code, "value", inc.incident_type)
        if inc.first_occurred_at is not None:
            _sub(info, "onset", _cap_time(inc.first_occurred_at, tz))
        _sub(info, "senderName", f"Kentongan {district_name}")
        _sub(info, "headline", f"{label}: {where}")
        _sub(info, "description", _description(inc, lang))
        for name, value in (
            ("state", inc.state),
            ("activations", str(inc.count)),
            ("confirmed", "true" if inc.confirmed else "false"),
            ("historical", "true" if inc.historical else "false"),
        ):
            p = ET.SubElement(info, f"{{{CAP_NS}}}parameter")
            _sub(p, "valueName", name)
            _sub(p, "value", value)
        area = ET.SubElement(info, f"{{{CAP_NS}}}area")
        _sub(area, "areaDesc", where)
        _sub(area, "circle", f"{inc.lat:.5f},{inc.lon:.5f} {f.radius_km:g}")
        geo = ET.SubElement(area, f"{{{CAP_NS}}}geocode")
        _sub(geo, "valueName", "KEMENDAGRI")
        _sub(geo, "value", place.kampung_code)
    body: bytes = ET.tostring(alert, encoding="utf-8", xml_declaration=True)
    return body


def _description(inc: Incident, lang: str) -> str:
    if lang.startswith("id"):
        text = f"{inc.count} aktivasi; sumber {inc.source}."
        if inc.confirmed:
            text += " Terkonfirmasi."
        if inc.historical and inc.age_s is not None:
            text += f" Dari antrean tertunda, umur {inc.age_s:.0f} detik."
        return text
    text = f"{inc.count} activation(s); source {inc.source}."
    if inc.confirmed:
        text += " Confirmed."
    if inc.historical and inc.age_s is not None:
        text += f" From the backlog, {inc.age_s:.0f} s old."
    return text
