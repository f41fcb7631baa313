"""The resident form's fields, checked on the server: one honest message per bad field."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from kentongan_protocol.payloads import Position

from kentongan_cloud.domain.sites import Directory

PHONE_PATTERN = re.compile(r"^\+?[0-9 ]{6,20}$")
HONEYPOT = "website"


@dataclass
class ReportForm:
    """What the resident typed, kept to show the form again after an error."""

    incident_type: str = ""
    description: str = ""
    kampung: str = ""
    lat: str = ""
    lon: str = ""
    accuracy: str = ""
    name: str = ""
    phone: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field -> TEXT key

    def position(self) -> Position | None:
        if not self.lat or not self.lon:
            return None
        try:
            lat, lon = float(self.lat), float(self.lon)
            acc = float(self.accuracy) if self.accuracy else None
        except ValueError:
            return None
        if not all(math.isfinite(v) for v in (lat, lon)):
            return None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        if acc is not None and not (math.isfinite(acc) and 0 <= acc <= 100_000):
            acc = None
        return Position(lat=lat, lon=lon, accuracy_m=acc)

    def clean_phone(self) -> str | None:
        p = self.phone.replace("-", " ").strip()
        return p or None

    def validate(self, directory: Directory) -> None:
        e = self.errors
        if directory.incident_type(self.incident_type) is None:
            e["incident_type"] = "err_type"
        if len(self.description) > 1000:
            e["description"] = "err_description"
        if self.kampung and self.kampung not in directory.places:
            e["kampung"] = "err_kampung"
        elif (self.lat or self.lon) and self.position() is None:
            e["kampung"] = "err_position"
        elif not self.kampung and self.position() is None:
            e["kampung"] = "err_where"
        if len(self.name) > 120:
            e["name"] = "err_name"
        phone = self.clean_phone()
        if phone is not None and not PHONE_PATTERN.match(phone):
            e["phone"] = "err_phone"
