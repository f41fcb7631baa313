"""Accounts' rules shared by `kentongan-cloud create-user` and the admin API: which roles
need a post or an agency, and what a responder's agency lets it see."""

from __future__ import annotations

from kentongan_protocol.provisioning.tree import Provisioning

from kentongan_cloud.api.auth import ROLES, Principal
from kentongan_cloud.records import UserRecord
from kentongan_cloud.responders.routing import agency_kinds
from kentongan_cloud.store.agency_reach import AgencyReach


class InvalidAccountError(ValueError):
    """The account's role, post or agency does not fit; the message says which."""


def check_account(
    prov: Provisioning, role: str, gateway_id: str | None, agency_id: str | None
) -> None:
    if role not in ROLES:
        msg = f"unknown role {role!r}; one of {', '.join(ROLES)}"
        raise InvalidAccountError(msg)
    if role == "guard" and not gateway_id:
        msg = "a guard needs a gateway (the post whose phone this is)"
        raise InvalidAccountError(msg)
    if gateway_id and role != "guard":
        msg = f"only guards belong to a post; a {role} has no gateway"
        raise InvalidAccountError(msg)
    if gateway_id and gateway_id not in prov.gateways:
        msg = f"unknown gateway {gateway_id!r}: not in the provisioning files"
        raise InvalidAccountError(msg)
    if role == "responder" and not agency_id:
        msg = "a responder needs an agency (an agency id of the district file)"
        raise InvalidAccountError(msg)
    if agency_id and role != "responder":
        msg = f"only responders belong to an agency; a {role} has none"
        raise InvalidAccountError(msg)
    known = [a.id for a in prov.district.agencies]
    if agency_id and agency_id not in known:
        msg = f"unknown agency {agency_id!r}; the district file has: {', '.join(known)}"
        raise InvalidAccountError(msg)


def describe(user: UserRecord) -> str:
    """The audit line's detail for an account: its role and what it is bound to."""
    where = f" agency {user.agency_id}" if user.agency_id else ""
    where += f" gateway {user.gateway_id}" if user.gateway_id else ""
    return f"role {user.role}{where}"


def reach(prov: Provisioning, who: Principal) -> AgencyReach | None:
    """The incidents a responder may see; None for every other role (no limit). An agency
    gone from the district file keeps only the incidents it was paged for."""
    if who.role != "responder":
        return None
    district = prov.district
    agency = next((a for a in district.agencies if a.id == who.agency_id), None)
    types = frozenset(
        t
        for t in district.incident_types
        if agency is not None and agency.kind in agency_kinds(district, t)
    )
    return AgencyReach(
        agency_id=who.agency_id or "",
        incident_types=types,
        everywhere=agency is not None and agency.tier == "kabupaten",
        kecamatan=frozenset(agency.kecamatan if agency else ()),
        kampung=frozenset(agency.kampung if agency else ()),
    )
