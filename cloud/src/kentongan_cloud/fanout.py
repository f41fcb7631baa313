"""Siren fan-out: expiring, revisioned commands to neighbouring posts and district broadcasts;
also a post's maintenance switch, delivered the same way.

Commands are outbox rows: the envelope holds the target, the wire bytes and the moment the
command stops making sense. A worker that delivers late sends only the remaining expiry, and
nothing at all once it is past (an old "on" must never sound).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from kentongan_protocol.payloads import (
    AreaFilter,
    Broadcast,
    Command,
    Maintenance,
    SirenOff,
    SirenOn,
)
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kentongan_cloud.domain.incident import Incident
from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.records import CommandRecord, OutboxItem

_NS = uuid.UUID("6c0f8f4e-4b0e-4d7a-9a53-6b656e746f6e")
BROADCAST_TARGET = "broadcast"


class CommandEnvelope(BaseModel):
    """What the outbox worker needs to publish a command."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: Annotated[str, Field(min_length=1, max_length=32)]
    district: str
    command_id: str
    expires_at: AwareDatetime
    body: str  # the wire JSON


def _wires(ids: list[uuid.UUID], now: datetime, body: SirenOn | SirenOff) -> list[str]:
    """The wire JSON of one command per id, all alike but for the id. The protocol model
    encodes the first; the others are that text with their id in its place. A UUID's text
    occurs nowhere else in it (the body's alarm_id is another UUID), and encoding each
    command anew was most of a confirmation's fan-out to 90 posts."""
    if not ids:
        return []
    first = Command(command_id=ids[0], issued_at=now, body=body).encode().decode()
    return [first] + [first.replace(str(ids[0]), str(i)) for i in ids[1:]]


def maintenance_key(gateway_id: str) -> str:
    """The `alarm_id` under which one post's maintenance commands are kept together."""
    return str(uuid.uuid5(_NS, f"maintenance:{gateway_id}"))


@dataclass
class Fanout:
    """Builds siren commands for incidents and operators' area alarms."""

    directory: Directory
    expiry_s: int

    def _command(
        self,
        target: str,
        cmd_id: str,
        body: str,
        now: datetime,
        *,
        action: str,
        alarm_id: str,
        revision: int,
        incident_id: str | None,
    ) -> tuple[OutboxItem, CommandRecord]:
        expires = now + timedelta(seconds=self.expiry_s)
        env = CommandEnvelope(
            target=target,
            district=self.directory.district_id,
            command_id=cmd_id,
            expires_at=expires,
            body=body,
        )
        kind: Literal["command", "broadcast"] = (
            "broadcast" if target == BROADCAST_TARGET else "command"
        )
        item = OutboxItem(kind, f"cmd:{cmd_id}", env.model_dump_json())
        rec = CommandRecord(cmd_id, target, action, alarm_id, revision, now, expires, incident_id)
        return item, rec

    def sirens_on(
        self, inc: Incident, now: datetime, *, exclude: set[str]
    ) -> tuple[list[OutboxItem], list[CommandRecord]]:
        """Sound the posts within the type's radius or in the same kampung (next revision)."""
        itype = self.directory.incident_type(inc.incident_type)
        if itype is None:
            return [], []
        targets = self.directory.sites_near(
            inc.lat, inc.lon, inc.kampung, itype.fanout_radius_m, exclude=exclude
        )
        if not targets:
            return [], []
        inc.alarm_revision += 1
        inc.sirens_on = True
        rev = inc.alarm_revision
        body = SirenOn(
            action="siren_on",
            alarm_id=uuid.UUID(inc.alarm_id),
            revision=rev,
            pattern=itype.pattern,
            duration_s=itype.max_siren_s,
        )
        return self._many([t.gateway_id for t in targets], inc, body, now, "siren_on")

    def sirens_off(
        self, inc: Incident, targets: list[str], now: datetime
    ) -> tuple[list[OutboxItem], list[CommandRecord]]:
        """Silence the posts this incident's alarm sounded; a higher revision wins at the edge."""
        inc.sirens_on = False
        if not targets:
            return [], []
        inc.alarm_revision += 1
        body = SirenOff(
            action="siren_off", alarm_id=uuid.UUID(inc.alarm_id), revision=inc.alarm_revision
        )
        return self._many(targets, inc, body, now, "siren_off")

    def _many(
        self,
        targets: list[str],
        inc: Incident,
        body: SirenOn | SirenOff,
        now: datetime,
        action: str,
    ) -> tuple[list[OutboxItem], list[CommandRecord]]:
        items, recs = [], []
        gids = sorted(set(targets))
        ids = [uuid.uuid5(_NS, f"{inc.alarm_id}:{body.revision}:{g}") for g in gids]
        for gid, cmd_id, wire in zip(gids, ids, _wires(ids, now, body), strict=True):
            item, rec = self._command(
                gid,
                str(cmd_id),
                wire,
                now,
                action=action,
                alarm_id=inc.alarm_id,
                revision=body.revision,
                incident_id=inc.id,
            )
            items.append(item)
            recs.append(rec)
        return items, recs

    def broadcast(
        self,
        *,
        action: Literal["area_alarm", "all_clear"],
        alarm_id: str,
        revision: int,
        pattern: str,
        duration_s: int,
        area: AreaFilter,
        now: datetime,
    ) -> tuple[OutboxItem, CommandRecord]:
        """An area alarm (titir) or all-clear (aman) for every post the filter covers."""
        bid = uuid.uuid5(_NS, f"{alarm_id}:{revision}:broadcast")
        wire = Broadcast(
            broadcast_id=bid,
            action=action,
            alarm_id=uuid.UUID(alarm_id),
            revision=revision,
            pattern=pattern,
            duration_s=duration_s,
            area=area,
        ).encode()
        return self._command(
            BROADCAST_TARGET,
            str(bid),
            wire.decode(),
            now,
            action=action,
            alarm_id=alarm_id,
            revision=revision,
            incident_id=None,
        )

    def area_off(
        self, alarm_id: str, revision: int, area: AreaFilter, now: datetime
    ) -> tuple[list[OutboxItem], list[CommandRecord]]:
        """Stop an area alarm without the all-clear: siren_off to each post in the area."""
        items, recs = [], []
        body = SirenOff(action="siren_off", alarm_id=uuid.UUID(alarm_id), revision=revision)
        for site in self.directory.sites_in_area(area):
            cmd_id = uuid.uuid5(_NS, f"{alarm_id}:{revision}:{site.gateway_id}")
            wire = Command(command_id=cmd_id, issued_at=now, body=body).encode().decode()
            item, rec = self._command(
                site.gateway_id,
                str(cmd_id),
                wire,
                now,
                action="siren_off",
                alarm_id=alarm_id,
                revision=revision,
                incident_id=None,
            )
            items.append(item)
            recs.append(rec)
        return items, recs

    def maintenance(
        self, gateway_id: str, body: Maintenance, now: datetime, *, revision: int
    ) -> tuple[OutboxItem, CommandRecord]:
        """Maintenance on (for `minutes`) or off at one post. A fresh command_id each time: a
        technician who asks again means it, and the post must not take it for a repeat."""
        cmd_id = str(uuid.uuid4())
        wire = Command(command_id=uuid.UUID(cmd_id), issued_at=now, body=body).encode()
        return self._command(
            gateway_id,
            cmd_id,
            wire.decode(),
            now,
            action="maintenance_on" if body.on else "maintenance_off",
            alarm_id=maintenance_key(gateway_id),
            revision=revision,
            incident_id=None,
        )
