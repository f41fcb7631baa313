"""Test helpers: notices for the sample district, and the whole responders part wired to
the fake providers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kentongan_cloud.ports import IncidentNotice
from kentongan_protocol.provisioning.tree import Provisioning

# Monday 6 May 2024, 21:00 WIB: the night shift is on call.
MONDAY_NIGHT = datetime(2024, 5, 6, 14, 0, tzinfo=UTC)
# Tuesday 7 May 2024, 10:00 WIB: the day shift.
TUESDAY_MORNING = datetime(2024, 5, 7, 3, 0, tzinfo=UTC)


def notice(
    prov: Provisioning,
    *,
    incident_id: str = "inc-0001",
    gateway: str = "gs-buyut-udik-01",
    incident_type: str = "pencurian",
    reason: str = "opened",
    status: str = "actual",
    opened_at: datetime = MONDAY_NIGHT,
    **extra: Any,
) -> IncidentNotice:
    """A notice as the core would send it for a press at a provisioned post."""
    gw = prov.gateways[gateway].gateway
    district = prov.district
    kec, kampung = district.kampung_by_id()[gw.kampung]
    fields: dict[str, Any] = {
        "incident_id": incident_id,
        "reason": reason,
        "incident_type": incident_type,
        "type_label": district.incident_types[incident_type].label,
        "state": "new",
        "status": status,
        "confirmed": False,
        "historical": False,
        "count": 1,
        "source": "button",
        "district": district.district.id,
        "kecamatan": kec.id,
        "kampung": kampung.id,
        "kampung_name": kampung.name,
        "post_name": gw.post_name,
        "gateway_id": gw.gateway_id,
        "lat": gw.location.lat,
        "lon": gw.location.lon,
        "opened_at": opened_at,
    }
    fields.update(extra)
    return IncidentNotice.model_validate(fields)
