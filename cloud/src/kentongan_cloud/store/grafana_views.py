"""What Grafana's PostgreSQL panels read: `grafana_posts` and `grafana_incidents`, views over
the core's own tables with exactly the columns of dashboards/postgres/contract.sql.

Display names (kecamatan, kampung, incident type) live in the provisioning files; a small
`place_names` table synced with the gateway registry gives the views the names of today.
The views exist on PostgreSQL only (Grafana's incident datasource); SQLite gets the table.
"""

from __future__ import annotations

from sqlalchemy import Column, PrimaryKeyConstraint, String, Table, delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.store.base import metadata

place_names = Table(
    "place_names",
    metadata,
    Column("kind", String(16), nullable=False),  # kecamatan | kampung | incident_type
    Column("id", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    PrimaryKeyConstraint("kind", "id"),
)

# escalation_level is the tier reached, read from the responders' state: 1 when an agency's
# ladder moved on to its next person, 2 when agencies stayed silent and the command centre
# was paged; 0 otherwise (also when no responder was notified).
VIEWS = (
    """
CREATE OR REPLACE VIEW grafana_posts AS
SELECT
    g.gateway_id::text AS gateway_id,
    g.post_name::text AS post_name,
    d.district::text AS district,
    g.kecamatan::text AS kecamatan,
    COALESCE(kc.name, g.kecamatan)::text AS kecamatan_name,
    g.kampung::text AS kampung,
    COALESCE(kp.name, g.kampung)::text AS kampung_name,
    g.lat::double precision AS lat,
    g.lon::double precision AS lon,
    g.online AS online,
    g.last_seen_at AS last_seen_at,
    g.on_duty AS on_duty
FROM gateways g
CROSS JOIN (SELECT name AS district FROM place_names WHERE kind = 'district' LIMIT 1) d
LEFT JOIN place_names kc ON kc.kind = 'kecamatan' AND kc.id = g.kecamatan
LEFT JOIN place_names kp ON kp.kind = 'kampung' AND kp.id = g.kampung
WHERE NOT g.revoked AND NOT g.retired
""",
    """
CREATE OR REPLACE VIEW grafana_incidents AS
SELECT
    i.id::text AS incident_id,
    i.incident_type::text AS incident_type,
    COALESCE(ty.name, i.incident_type)::text AS type_label,
    i.state::text AS state,
    i.status::text AS status,
    i.source::text AS source,
    i.confirmed AS confirmed,
    i.district::text AS district,
    i.kecamatan::text AS kecamatan,
    COALESCE(kc.name, i.kecamatan)::text AS kecamatan_name,
    i.kampung::text AS kampung,
    COALESCE(kp.name, i.kampung)::text AS kampung_name,
    i.gateway_id::text AS gateway_id,
    CASE WHEN i.gateway_id IS NULL THEN NULL ELSE i.post_name END::text AS post_name,
    i.lat::double precision AS lat,
    i.lon::double precision AS lon,
    i.opened_at AS opened_at,
    i.acknowledged_at AS acknowledged_at,
    i.dispatched_at AS dispatched_at,
    i.closed_at AS closed_at,
    COALESCE((
        SELECT CASE
            WHEN jsonb_array_length(COALESCE(s.state -> 'unanswered', '[]'::jsonb)) > 0 THEN 2
            WHEN EXISTS (
                SELECT 1 FROM jsonb_array_elements(COALESCE(s.state -> 'tracks', '[]'::jsonb)) t
                WHERE (t ->> 'rounds')::integer > 1
            ) THEN 1
            ELSE 0
        END
        FROM (SELECT r.state_json::jsonb AS state) s
    ), 0)::integer AS escalation_level
FROM incidents i
LEFT JOIN place_names ty ON ty.kind = 'incident_type' AND ty.id = i.incident_type
LEFT JOIN place_names kc ON kc.kind = 'kecamatan' AND kc.id = i.kecamatan
LEFT JOIN place_names kp ON kp.kind = 'kampung' AND kp.id = i.kampung
LEFT JOIN responder_incidents r ON r.incident_id = i.id
""",
)


async def create_views(conn: AsyncConnection) -> None:
    """(Re)create the views; after the tables, on PostgreSQL only."""
    if conn.dialect.name != "postgresql":
        return
    for sql in VIEWS:
        await conn.exec_driver_sql(sql)


async def sync_names(conn: AsyncConnection, d: Directory) -> None:
    """Names of the district, its kecamatan and kampung, and its incident types."""
    rows = [{"kind": "district", "id": "_", "name": d.district_id}]
    kecamatan = {p.kecamatan: p.kecamatan_name for p in d.places.values()}
    rows += [{"kind": "kecamatan", "id": k, "name": n} for k, n in kecamatan.items()]
    rows += [
        {"kind": "kampung", "id": p.kampung, "name": p.kampung_name} for p in d.places.values()
    ]
    rows += [
        {"kind": "incident_type", "id": tid, "name": t.label}
        for tid, t in d.district.incident_types.items()
    ]
    await conn.execute(delete(place_names))
    await conn.execute(insert(place_names), rows)
