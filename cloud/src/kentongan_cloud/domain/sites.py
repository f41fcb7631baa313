"""The district as the cloud needs it: posts, kampung and incident types, from provisioning.

Built from the firmware_configs/ tree every worker reads, so all workers agree without
sharing memory; the fleet registry in the database is synced from the same files.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cached_property

from kentongan_protocol.payloads import AreaFilter
from kentongan_protocol.provisioning.district import District, IncidentType
from kentongan_protocol.provisioning.tree import Provisioning

from kentongan_cloud.domain.geo import BoundingBox, distance_m


@dataclass(frozen=True, slots=True)
class Place:
    """A kampung with its kecamatan and Kemendagri codes."""

    kampung: str
    kampung_name: str
    kampung_code: str
    kecamatan: str
    kecamatan_name: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Site:
    """A pos kamling with its gateway."""

    gateway_id: str
    post_name: str
    place: Place
    lat: float
    lon: float
    heartbeat_s: int
    inputs: dict[str, str | None] = field(default_factory=dict)
    config_hash: str = ""


@dataclass
class Directory:
    """Posts, places and incident types of one district (read-only once built: the
    indexes of `sites_near` are made on first use)."""

    district: District
    sites: dict[str, Site]
    revoked: dict[str, str]
    places: dict[str, Place]
    revoked_sites: dict[str, Site] = field(default_factory=dict)

    @property
    def district_id(self) -> str:
        return self.district.district.id

    @property
    def cancel_window_s(self) -> int:
        return self.district.cancel_window_s

    def incident_type(self, type_id: str) -> IncidentType | None:
        return self.district.incident_types.get(type_id)

    def nearest_place(self, lat: float, lon: float) -> Place:
        """The kampung whose centre is nearest: where a resident's position belongs."""
        return min(self.places.values(), key=lambda p: distance_m(lat, lon, p.lat, p.lon))

    def sites_near(
        self, lat: float, lon: float, kampung: str, radius_m: float, *, exclude: set[str]
    ) -> list[Site]:
        """Active posts within `radius_m` of a point, or in the same kampung."""
        # Only the posts in the box's band of latitude are measured, and the kampung's posts
        # are looked up: a confirmation runs in the intake's transaction, and looking at
        # every post of a district of 2,000 cost it a millisecond (13 before the box).
        box = BoundingBox.around(lat, lon, radius_m)
        lats, by_lat = self._by_latitude
        found = {
            s.gateway_id: s
            for s in by_lat[bisect_left(lats, box.south) : bisect_right(lats, box.north)]
            if box.holds(s.lat, s.lon) and distance_m(lat, lon, s.lat, s.lon) <= radius_m
        }
        found |= {s.gateway_id: s for s in self._by_kampung.get(kampung, ())}
        return [found[g] for g in sorted(found) if g not in exclude]

    @cached_property
    def _by_latitude(self) -> tuple[list[float], list[Site]]:
        by_lat = sorted(self.sites.values(), key=lambda s: s.lat)
        return [s.lat for s in by_lat], by_lat

    @cached_property
    def _by_kampung(self) -> dict[str, list[Site]]:
        out: dict[str, list[Site]] = {}
        for s in self.sites.values():
            out.setdefault(s.place.kampung, []).append(s)
        return out

    def sites_in_area(self, area: AreaFilter) -> list[Site]:
        """Active posts an area filter of a district broadcast covers (empty: all)."""
        empty = not (area.kecamatan or area.kampung or area.gateways or area.circle)
        out = []
        for s in self.sites.values():
            hit = (
                empty
                or s.place.kecamatan in area.kecamatan
                or s.place.kampung in area.kampung
                or s.gateway_id in area.gateways
            )
            c = area.circle
            if not hit and c is not None:
                hit = distance_m(c.lat, c.lon, s.lat, s.lon) <= c.radius_m
            if hit:
                out.append(s)
        return sorted(out, key=lambda s: s.gateway_id)


def build_directory(prov: Provisioning) -> Directory:
    """The directory of a checked provisioning tree; revoked gateways are left out of sites."""
    d = prov.district
    places: dict[str, Place] = {}
    for kc in d.kecamatan:
        for k in kc.kampung:
            places[k.id] = Place(
                k.id, k.name, k.code, kc.id, kc.name, k.location.lat, k.location.lon
            )
    sites: dict[str, Site] = {}
    revoked_sites: dict[str, Site] = {}
    for gid, gf in prov.gateways.items():
        g = gf.gateway
        inputs: dict[str, str | None] = {b.input: b.incident_type for b in g.panic_buttons}
        inputs |= {s.input: s.incident_type for s in g.sensors}
        inputs |= {a.input: a.incident_type for a in g.analog_sensors}
        for plain in (g.cancel_button, g.duty_button):
            if plain is not None:
                inputs[plain.input] = None
        (revoked_sites if gid in prov.revoked else sites)[gid] = Site(
            gid,
            g.post_name,
            places[g.kampung],
            g.location.lat,
            g.location.lon,
            g.heartbeat_s,
            inputs,
            gf.config_hash,
        )
    revoked = {gid: r.reason for gid, r in prov.revoked.items()}
    return Directory(d, sites, revoked, places, revoked_sites)
