"""What the console's map draws: posts coloured by state, and the open incidents."""

from __future__ import annotations

from typing import Any

from kentongan_cloud.api.models import GatewayPublic
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.web.board import BoardRow


async def map_posts(rt: CloudRuntime) -> list[dict[str, Any]]:
    """Active posts: offline, sounding an alarm, or online (retired and revoked ones left out)."""
    async with rt.db.transaction() as tx:
        rows = await tx.fleet.rows()
    posts = []
    for g in (GatewayPublic.of(r, []) for r in rows):
        if g.retired or g.revoked:
            continue
        state = "offline" if not g.online else ("alarm" if g.alarms else "online")
        posts.append(
            {
                "id": g.gateway_id,
                "name": g.post_name,
                "lat": g.lat,
                "lon": g.lon,
                "state": state,
                "staffed": g.staffed,
            }
        )
    return posts


async def map_snapshot(rt: CloudRuntime, rows: list[BoardRow]) -> dict[str, Any]:
    """The map's whole picture; the incidents are the board's rows, markers need only a few
    of their fields."""
    keep = {"id", "type_label", "post", "kampung", "lat", "lon"}
    incidents = [r.model_dump(include=keep) for r in rows]
    return {"posts": await map_posts(rt), "incidents": incidents}
