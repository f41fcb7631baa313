"""The bounding box in front of the haversine never leaves out a point within the radius."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from kentongan_cloud.domain.geo import BoundingBox, distance_m

LAT = st.floats(min_value=-11.0, max_value=6.0)  # Indonesia, Sabang to Merauke
LON = st.floats(min_value=95.0, max_value=141.0)


@settings(max_examples=2000, deadline=None)
@given(
    lat=LAT,
    lon=LON,
    radius=st.floats(min_value=1.0, max_value=50_000.0),
    bearing=st.floats(min_value=0.0, max_value=2 * math.pi),
    frac=st.floats(min_value=0.0, max_value=1.0),
)
def test_every_point_within_the_radius_is_in_the_box(
    lat: float, lon: float, radius: float, bearing: float, frac: float
) -> None:
    # A point at frac * radius along a bearing (small-distance approximation, checked below).
    d = frac * radius / 6_371_008.8
    plat = lat + math.degrees(d * math.cos(bearing))
    plon = lon + math.degrees(d * math.sin(bearing) / math.cos(math.radians(plat)))
    if distance_m(lat, lon, plat, plon) <= radius:
        assert BoundingBox.around(lat, lon, radius).holds(plat, plon)


def test_points_well_outside_are_left_out() -> None:
    box = BoundingBox.around(-4.85, 105.27, 1000)  # Gunung Sugih
    assert box.holds(-4.85, 105.27)
    assert not box.holds(-4.85 + 0.02, 105.27)  # about 2.2 km north
    assert not box.holds(-4.85, 105.27 - 0.02)
