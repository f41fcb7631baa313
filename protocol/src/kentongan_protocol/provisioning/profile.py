"""The part of the district file a gateway needs: rhythms and incident types, no people."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kentongan_protocol.ids import Id
from kentongan_protocol.provisioning.district import District, Label, SirenPattern, Strict


class EdgeIncidentType(Strict):
    label: Label
    pattern: Id
    max_siren_s: Annotated[int, Field(ge=5, le=1800)]


class EdgeProfile(Strict):
    """Written into a gateway's bundle as profile.yaml; keeps responders' contacts off the Pi."""

    district: Id
    cancel_window_s: int
    siren_patterns: dict[Id, SirenPattern]
    incident_types: dict[Id, EdgeIncidentType]
    # kampung -> kecamatan, so a post can tell whether a kecamatan-wide broadcast is for it
    # (empty in bundles made before it existed: such a post stays silent and says why).
    kampung_kecamatan: dict[Id, Id] = {}

    @classmethod
    def from_district(cls, d: District) -> EdgeProfile:
        return cls(
            district=d.district.id,
            cancel_window_s=d.cancel_window_s,
            siren_patterns=dict(d.siren_patterns),
            incident_types={
                k: EdgeIncidentType(label=v.label, pattern=v.pattern, max_siren_s=v.max_siren_s)
                for k, v in d.incident_types.items()
            },
            kampung_kecamatan={k.id: kc.id for kc in d.kecamatan for k in kc.kampung},
        )
