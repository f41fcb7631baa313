"""The bounding box in front of the haversine never leaves out a point within the radius, and
the indexed neighbour search finds exactly the posts a look at every post would."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kentongan_cloud.domain.geo import BoundingBox, distance_m
from kentongan_cloud.domain.sites import Directory

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


@settings(max_examples=300, deadline=None)
@given(
    dlat=st.floats(min_value=-0.1, max_value=0.1),
    dlon=st.floats(min_value=-0.1, max_value=0.1),
    radius=st.floats(min_value=0.0, max_value=8_000.0),
    pick=st.integers(min_value=0, max_value=10_000),
)
def test_sites_near_finds_what_measuring_every_post_finds(
    generated_district: Directory, dlat: float, dlon: float, radius: float, pick: int
) -> None:
    posts = sorted(generated_district.sites.values(), key=lambda s: s.gateway_id)
    origin = posts[pick % len(posts)]
    lat, lon, kampung = origin.lat + dlat, origin.lon + dlon, origin.place.kampung
    exclude = {origin.gateway_id}
    every = [
        s.gateway_id
        for s in posts
        if s.gateway_id not in exclude
        and (distance_m(lat, lon, s.lat, s.lon) <= radius or s.place.kampung == kampung)
    ]
    got = generated_district.sites_near(lat, lon, kampung, radius, exclude=exclude)
    assert [s.gateway_id for s in got] == every


@pytest.mark.parametrize("bearing", [0.0, math.pi / 2, math.pi, 3 * math.pi / 2])
def test_a_post_just_inside_the_radius_is_found_in_every_direction(
    generated_district: Directory, bearing: float
) -> None:
    radius = 1500.0
    for post in sorted(generated_district.sites.values(), key=lambda s: s.gateway_id)[::40]:
        # The query point lies 0.999 x radius from the post, towards `bearing` from it.
        d = 0.999 * radius / 6_371_008.8
        lat = post.lat + math.degrees(d * math.cos(bearing))
        lon = post.lon + math.degrees(d * math.sin(bearing) / math.cos(math.radians(post.lat)))
        assert distance_m(lat, lon, post.lat, post.lon) <= radius
        got = generated_district.sites_near(lat, lon, "no-such-kampung", radius, exclude=set())
        assert post.gateway_id in {s.gateway_id for s in got}
