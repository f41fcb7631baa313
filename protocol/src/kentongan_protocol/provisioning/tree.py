"""Load a whole firmware_configs/ tree and check it across files, reporting every problem."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import Field

from kentongan_protocol.errors import KentonganError
from kentongan_protocol.ids import RESERVED_GATEWAY_IDS, Id
from kentongan_protocol.provisioning.district import District, Point, Strict
from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.yamlsrc import (
    KeyPath,
    Problem,
    YamlDoc,
    dotted,
    read_yaml,
    validate_model,
)

DISTRICT_FILE = "district.yaml"
GATEWAYS_DIR = "gateways"
REVOKED_FILE = "revoked.yaml"
REQUIRED_PATTERNS = ("titir", "aman")
# A post lies in its kampung; kampung in Lampung Tengah span a few km at most.
MAX_POST_KM_FROM_KAMPUNG = 8.0


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


class Revocation(Strict):
    gateway_id: Id
    at: Annotated[str, Field(max_length=40)]
    reason: Annotated[str, Field(max_length=200)] = ""


class RevokedList(Strict):
    revoked: list[Revocation] = []


@dataclass
class GatewayFile:
    gateway: Gateway
    path: Path
    doc: YamlDoc

    @property
    def config_hash(self) -> str:
        """Hash of the file as written: the birth message reports which config runs."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass
class Provisioning:
    """A checked district: the district file, its gateways and the revoked list."""

    root: Path
    district: District
    gateways: dict[str, GatewayFile] = field(default_factory=dict)
    revoked: dict[str, Revocation] = field(default_factory=dict)

    def active_gateways(self) -> list[Gateway]:
        return [g.gateway for gid, g in sorted(self.gateways.items()) if gid not in self.revoked]


class ProvisioningError(KentonganError, ValueError):
    """The tree has problems; `problems` lists each with file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in provisioning files")
        self.problems = problems


def _display(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def check_district(d: District, doc: YamlDoc) -> list[Problem]:
    """Rules inside the district file that a schema alone cannot state."""
    out: list[Problem] = []
    for name in REQUIRED_PATTERNS:
        if name not in d.siren_patterns:
            out.append(doc.problem(("siren_patterns",), f"pattern {name!r} is required"))
    seen_kampung: Counter[str] = Counter()
    for i, kc in enumerate(d.kecamatan):
        if not kc.code.startswith(d.district.kemendagri_code + "."):
            out.append(
                doc.problem(
                    ("kecamatan", i, "code"),
                    f"{kc.code} is not inside district {d.district.kemendagri_code}",
                )
            )
        for j, k in enumerate(kc.kampung):
            path: KeyPath = ("kecamatan", i, "kampung", j)
            seen_kampung[k.id] += 1
            if seen_kampung[k.id] == 2:
                out.append(doc.problem((*path, "id"), f"kampung id {k.id!r} is used twice"))
            if not k.code.startswith(kc.code + "."):
                out.append(
                    doc.problem((*path, "code"), f"{k.code} is not inside kecamatan {kc.code}")
                )
            if not d.district.bounds.contains(k.location):
                out.append(doc.problem((*path, "location"), _outside(k.location)))
    for type_id, it in d.incident_types.items():
        if it.pattern not in d.siren_patterns:
            out.append(
                doc.problem(
                    ("incident_types", type_id, "pattern"), f"unknown siren pattern {it.pattern!r}"
                )
            )
    out += _check_agencies(d, doc, set(seen_kampung))
    out += _check_rules(d, doc)
    return out


def _check_rules(d: District, doc: YamlDoc) -> list[Problem]:
    out: list[Problem] = []
    routed = {t for rule in d.routing for t in rule.incident_types}
    for type_id in d.incident_types:
        if type_id not in routed:
            out.append(
                doc.problem(
                    ("incident_types", type_id),
                    f"incident type {type_id!r} is not routed to any agency",
                )
            )
    kinds = {a.kind for a in d.agencies}
    for i, rule in enumerate(d.routing):
        for j, kind in enumerate(rule.agency_kinds):
            if kind not in kinds:
                out.append(
                    doc.problem(
                        ("routing", i, "agency_kinds", j), f"no agency of kind {kind!r} is defined"
                    )
                )
    people: dict[str, KeyPath] = {}
    for i, a in enumerate(d.agencies):
        for j, person in enumerate(a.people):
            path: KeyPath = ("agencies", i, "people", j, "id")
            if person.id in people:
                out.append(
                    doc.problem(
                        path,
                        f"person id {person.id!r} is already used by {dotted(people[person.id])}",
                    )
                )
            people.setdefault(person.id, path)
    for i, rule in enumerate(d.routing):
        for j, t in enumerate(rule.incident_types):
            if t not in d.incident_types:
                out.append(
                    doc.problem(("routing", i, "incident_types", j), f"unknown incident type {t!r}")
                )
    centres = {a.id for a in d.agencies if a.kind == "command_centre"}
    if d.escalation.command_centre not in centres:
        out.append(
            doc.problem(
                ("escalation", "command_centre"),
                f"{d.escalation.command_centre!r} is not an agency of kind command_centre",
            )
        )
    return out


def _check_agencies(d: District, doc: YamlDoc, kampung_ids: set[str]) -> list[Problem]:
    out: list[Problem] = []
    kecamatan_ids = {kc.id for kc in d.kecamatan}
    agency_ids = Counter(a.id for a in d.agencies)
    for i, a in enumerate(d.agencies):
        if agency_ids[a.id] > 1:
            out.append(doc.problem(("agencies", i, "id"), f"agency id {a.id!r} is used twice"))
        for j, kc_id in enumerate(a.kecamatan):
            if kc_id not in kecamatan_ids:
                out.append(
                    doc.problem(("agencies", i, "kecamatan", j), f"unknown kecamatan {kc_id!r}")
                )
        for j, k_id in enumerate(a.kampung):
            if k_id not in kampung_ids:
                out.append(doc.problem(("agencies", i, "kampung", j), f"unknown kampung {k_id!r}"))
        if a.fallback not in {p.id for p in a.people}:
            out.append(
                doc.problem(
                    ("agencies", i, "fallback"),
                    f"fallback {a.fallback!r} is not one of the agency's people",
                )
            )
    return out


def _outside(p: Point) -> str:
    return f"coordinates ({p.lat}, {p.lon}) lie outside the district bounds"


def check_gateway(g: Gateway, gf_path: Path, doc: YamlDoc, d: District) -> list[Problem]:
    """Rules for one gateway against the district."""
    out: list[Problem] = []
    if gf_path.stem != g.gateway_id:
        out.append(
            doc.problem(
                ("gateway_id",),
                f"file is named {gf_path.name} but the id is "
                f"{g.gateway_id!r}; name it {g.gateway_id}.yaml",
            )
        )
    if g.gateway_id in RESERVED_GATEWAY_IDS:
        out.append(doc.problem(("gateway_id",), f"{g.gateway_id!r} is a reserved word"))
    if g.district != d.district.id:
        out.append(doc.problem(("district",), f"district {g.district!r} is not {d.district.id!r}"))
    if g.kampung not in d.kampung_by_id():
        out.append(doc.problem(("kampung",), f"unknown kampung {g.kampung!r}"))
    if not d.district.bounds.contains(g.location):
        out.append(doc.problem(("location",), _outside(g.location)))
    elif g.kampung in d.kampung_by_id():
        centre = d.kampung_by_id()[g.kampung][1].location
        km = distance_m(centre, g.location) / 1000
        if km > MAX_POST_KM_FROM_KAMPUNG:
            out.append(
                doc.problem(
                    ("location",),
                    f"the post is {km:.1f} km from the centre of "
                    f"kampung {g.kampung!r}; check the coordinates",
                )
            )
    out += _check_pins(g, doc)
    names: dict[str, KeyPath] = {}
    for path, name in g.input_names():
        if name in names:
            out.append(doc.problem(path, f"name {name!r} is already used"))
        names.setdefault(name, path)
    for path, t in g.incident_types():
        if t not in d.incident_types:
            out.append(doc.problem(path, f"unknown incident type {t!r}"))
    return out


def _check_pins(g: Gateway, doc: YamlDoc) -> list[Problem]:
    """No GPIO claimed twice (the MCP3008 claims SPI0), no ADC channel used twice."""
    out: list[Problem] = []
    claimed: dict[int, KeyPath] = {}
    for path, pin in g.pins():
        if pin not in claimed:
            claimed[pin] = path
            continue
        other = dotted(claimed[pin])
        if path[0] == "analog_sensors":
            msg = f"the MCP3008 needs GPIO{pin} (SPI0), already used by {other}"
        else:
            msg = f"GPIO{pin} is already used by {other}"
        out.append(doc.problem(path, msg))
    channels: dict[int, int] = {}
    for i, a in enumerate(g.analog_sensors):
        if a.channel in channels:
            msg = f"channel {a.channel} is already used by analog_sensors.{channels[a.channel]}"
            out.append(doc.problem(("analog_sensors", i, "channel"), msg))
        channels.setdefault(a.channel, i)
    return out


def load_tree(root: Path) -> Provisioning:
    """Load and check firmware_configs/; raise ProvisioningError listing every problem."""
    problems: list[Problem] = []
    ddoc, found = read_yaml(root / DISTRICT_FILE, _display(root, root / DISTRICT_FILE))
    problems += found
    district = None
    if not found:
        district, found = validate_model(District, ddoc)
        problems += found
    if district is not None:
        problems += check_district(district, ddoc)

    gateways: dict[str, GatewayFile] = {}
    first_file: dict[str, str] = {}
    files = sorted((root / GATEWAYS_DIR).glob("*.yaml")) + sorted(
        (root / GATEWAYS_DIR).glob("*.yml")
    )
    for path in files:
        doc, found = read_yaml(path, _display(root, path))
        problems += found
        if found:
            continue
        gateway, found = validate_model(Gateway, doc)
        problems += found
        if gateway is None:
            continue
        if gateway.gateway_id in first_file:
            problems.append(
                doc.problem(
                    ("gateway_id",),
                    f"duplicate gateway id {gateway.gateway_id!r} "
                    f"(also in {first_file[gateway.gateway_id]})",
                )
            )
            continue
        first_file[gateway.gateway_id] = doc.file
        if district is not None:
            problems += check_gateway(gateway, path, doc, district)
        gateways[gateway.gateway_id] = GatewayFile(gateway, path, doc)

    revoked: dict[str, Revocation] = {}
    rpath = root / REVOKED_FILE
    if rpath.exists():
        rdoc, found = read_yaml(rpath, _display(root, rpath))
        problems += found
        rlist = None
        if not found:
            rlist, found = validate_model(RevokedList, rdoc)
            problems += found
        if rlist is not None:
            revoked = {r.gateway_id: r for r in rlist.revoked}

    if problems or district is None:
        raise ProvisioningError(sorted(problems))
    return Provisioning(root=root, district=district, gateways=gateways, revoked=revoked)
