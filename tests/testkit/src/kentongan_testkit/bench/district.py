"""A generated district: the sample district's kampung, N gateway files made from a template
post, the provisioning tree loaded and checked by the ordinary provisioning code."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import yaml
from kentongan_protocol.provisioning.tree import Provisioning, load_tree

TEMPLATE = "tb-poncowati-01"
POSTS_PER_RING = 12
RING_STEP_DEG = 0.0015  # about 170 m


def generate_district(sample: Path, dest: Path, n: int) -> Provisioning:
    """Write `dest` (district.yaml + n gateway files spread over every kampung) and load it.

    Posts are numbered per kampung and placed on rings around the kampung centre, so a
    kecamatan's posts are each other's neighbours as in a real district."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "gateways").mkdir(parents=True)
    shutil.copy(sample / "district.yaml", dest / "district.yaml")
    district = yaml.safe_load((sample / "district.yaml").read_text(encoding="utf-8"))
    template = yaml.safe_load(
        (sample / "gateways" / f"{TEMPLATE}.yaml").read_text(encoding="utf-8")
    )
    kampung = [
        (kc["id"], k["id"], k["location"]) for kc in district["kecamatan"] for k in kc["kampung"]
    ]
    for i in range(n):
        kec, kid, centre = kampung[i % len(kampung)]
        nth = i // len(kampung)
        ring = 1 + nth // POSTS_PER_RING
        angle = 2 * math.pi * (nth % POSTS_PER_RING) / POSTS_PER_RING
        gid = f"{kec[:2]}{kid[:14].rstrip('-')}-{nth + 1:04d}"
        doc = dict(template)
        doc |= {
            "gateway_id": gid,
            "post_name": f"Pos Kamling {nth + 1} Kampung {kid}",
            "kampung": kid,
            "location": {
                "lat": round(centre["lat"] + ring * RING_STEP_DEG * math.sin(angle), 6),
                "lon": round(centre["lon"] + ring * RING_STEP_DEG * math.cos(angle), 6),
            },
        }
        (dest / "gateways" / f"{gid}.yaml").write_text(
            yaml.safe_dump(doc, sort_keys=False), encoding="utf-8"
        )
    return load_tree(dest)
