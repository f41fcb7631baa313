"""Distances on the WGS84 sphere, good to a few metres at village scale."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """Latitude and longitude bounds that hold every point within a distance of a centre
    (a little more, never less): a cheap test before the haversine. It does not wrap at
    the antimeridian, which Indonesia is far from."""

    south: float
    north: float
    west: float
    east: float

    @classmethod
    def around(cls, lat: float, lon: float, radius_m: float) -> BoundingBox:
        dlat = math.degrees(radius_m / EARTH_RADIUS_M) * 1.01
        poleward = min(89.0, abs(lat) + dlat)  # where a degree of longitude is shortest
        dlon = min(180.0, dlat / math.cos(math.radians(poleward)))
        return cls(lat - dlat, lat + dlat, lon - dlon, lon + dlon)

    def holds(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east

    @classmethod
    def covering(cls, boxes: Iterable[BoundingBox]) -> BoundingBox:
        """The smallest box that holds all of `boxes` (at least one)."""
        bs = list(boxes)
        return cls(
            min(b.south for b in bs),
            max(b.north for b in bs),
            min(b.west for b in bs),
            max(b.east for b in bs),
        )
