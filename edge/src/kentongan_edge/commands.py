"""Commands from the command centre and district broadcasts: checked, applied once,
acknowledged.

- Applied once by `command_id` (a broadcast by its `broadcast_id`); a repeat is acknowledged
  `duplicate` and changes nothing, also after a restart (the ledger is on disk).
- Siren commands carry `alarm_id` and `revision`; one that a newer revision has overtaken is
  `superseded`, so a late `on` never follows an `off`.
- Expiry is the broker's counted-down MQTT 5 message expiry: the broker drops an expired
  command, and one without expiry, or with more than 60 s, is `rejected` (a stale siren
  command must never sound). The Pi's own clock is never consulted.
- A malformed command is logged (truncated) and counted; when its command_id can be read it
  is acknowledged `rejected` with the reason.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Literal, Protocol
from uuid import UUID

from kentongan_protocol.errors import PayloadError
from kentongan_protocol.payloads import (
    MAX_COMMAND_EXPIRY_S,
    AreaFilter,
    Broadcast,
    Command,
    CommandAck,
    Maintenance,
    Ping,
    Reload,
    SelfTest,
    SirenOff,
    SirenOn,
    decode,
)
from kentongan_protocol.provisioning.district import SirenPattern

from kentongan_edge.ledger import AlarmRevision, CommandLedger, supersedes
from kentongan_edge.logs import truncated

_LOGGER = logging.getLogger(__name__)

Result = Literal["done", "duplicate", "superseded", "expired", "rejected", "failed"]
EARTH_RADIUS_M = 6_371_000.0


def alarm_key(alarm_id: UUID) -> str:
    return f"alarm:{alarm_id}"


class Actions(Protocol):
    """What commands may do to the post (the daemon implements it)."""

    def pattern(self, name: str) -> SirenPattern | None: ...

    def sound(self, key: str, pattern: SirenPattern, duration_s: float) -> None: ...

    def silence(self, key: str) -> bool: ...

    def self_test(self, duration_s: int) -> str: ...

    def ping(self) -> str: ...

    def maintenance(self, minutes: int) -> str: ...

    def reload(self) -> tuple[Result, str]: ...

    def inside(self, area: AreaFilter) -> bool: ...


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), good to metres at village scale."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def inside_area(
    area: AreaFilter,
    *,
    gateway_id: str,
    kampung: str,
    lat: float,
    lon: float,
    kecamatan: str | None = None,
) -> bool | None:
    """Whether a post is inside a broadcast's area: any listed criterion matching is enough;
    an empty filter means the whole district. None when only kecamatan could match and the
    post does not know its kecamatan (a profile from before kampung_kecamatan existed)."""
    if not (area.kecamatan or area.kampung or area.gateways or area.circle):
        return True
    if gateway_id in area.gateways or kampung in area.kampung:
        return True
    c = area.circle
    if c is not None and distance_m(lat, lon, c.lat, c.lon) <= c.radius_m:
        return True
    if not area.kecamatan:
        return False
    return None if kecamatan is None else kecamatan in area.kecamatan


class CommandHandler:
    """Applies commands and broadcasts through `Actions`; `ack` publishes on cmd/ack."""

    def __init__(
        self,
        ledger: CommandLedger,
        actions: Actions,
        ack: Callable[[CommandAck], None],
        *,
        log: logging.LoggerAdapter[logging.Logger] | logging.Logger = _LOGGER,
    ) -> None:
        self._ledger = ledger
        self._actions = actions
        self._ack = ack
        self._log = log
        self.malformed = 0

    def _reply(self, command_id: UUID, result: Result, detail: str | None = None) -> CommandAck:
        ack = CommandAck(command_id=command_id, result=result, detail=detail)
        self._ack(ack)
        return ack

    def _malformed(self, what: str, raw: bytes, exc: PayloadError) -> CommandAck | None:
        self.malformed += 1
        self._log.warning(
            "malformed %s ignored (%s; %d so far): %s", what, exc, self.malformed, truncated(raw)
        )
        try:
            data = json.loads(raw)
            cid = UUID(str(data["command_id"] if what == "command" else data["broadcast_id"]))
        except (ValueError, KeyError, TypeError):
            return None
        return self._reply(cid, "rejected", f"{exc.reason}: {exc.detail}"[:200])

    def _expiry_problem(self, expiry_s: int | None) -> tuple[Result, str] | None:
        if expiry_s is None:
            return "rejected", "no MQTT message expiry: siren commands must expire (<= 60 s)"
        if expiry_s <= 0:
            return "expired", "message expiry ran out"
        if expiry_s > MAX_COMMAND_EXPIRY_S:
            return "rejected", f"message expiry {expiry_s} s is over {MAX_COMMAND_EXPIRY_S} s"
        return None

    def on_command(self, raw: bytes, expiry_s: int | None) -> CommandAck | None:
        """A message on this gateway's `cmd` topic."""
        try:
            cmd = decode(Command, raw)
        except PayloadError as exc:
            return self._malformed("command", raw, exc)
        cid = str(cmd.command_id)
        previous = self._ledger.result_of(cid)
        if previous is not None:
            return self._reply(cmd.command_id, "duplicate", f"already handled: {previous}")
        problem = self._expiry_problem(expiry_s)
        if problem is not None:
            result, detail = problem
            self._log.warning("command %s %s: %s", cid, result, detail)
            self._ledger.record(cid, result)
            return self._reply(cmd.command_id, result, detail)
        body = cmd.body
        revision: AlarmRevision | None = None
        alarm_id: str | None = None
        if isinstance(body, SirenOn | SirenOff):
            alarm_id = str(body.alarm_id)
            state: Literal["on", "off"] = "on" if isinstance(body, SirenOn) else "off"
            if not supersedes(body.revision, state, self._ledger.alarm(alarm_id)):
                self._ledger.record(cid, "superseded")
                self._log.info("siren_%s %s rev %d superseded", state, alarm_id, body.revision)
                return self._reply(cmd.command_id, "superseded", "a newer revision was applied")
            revision = AlarmRevision(body.revision, state)
        result, detail = self._apply(body)
        self._ledger.record(
            cid, result, alarm_id=alarm_id if result == "done" else None, revision=revision
        )
        self._log.info("command %s (%s): %s %s", cid, body.action, result, detail or "")
        return self._reply(cmd.command_id, result, detail)

    def _apply(
        self, body: SirenOn | SirenOff | SelfTest | Ping | Reload | Maintenance
    ) -> tuple[Result, str]:
        if isinstance(body, SirenOn | SirenOff):
            return self._apply_siren(body)
        if isinstance(body, SelfTest):
            return "done", self._actions.self_test(body.duration_s)
        if isinstance(body, Ping):
            return "done", self._actions.ping()
        if isinstance(body, Maintenance):
            # The same switch as the post's console; an "off" carries no minutes.
            return "done", self._actions.maintenance(body.minutes or 0)
        return self._actions.reload()

    def _apply_siren(self, body: SirenOn | SirenOff) -> tuple[Result, str]:
        if isinstance(body, SirenOn):
            pattern = self._actions.pattern(body.pattern)
            if pattern is None:
                return "rejected", f"unknown siren pattern {body.pattern!r}"
            self._actions.sound(alarm_key(body.alarm_id), pattern, body.duration_s)
            return "done", f"sounding {body.pattern} for {body.duration_s} s"
        was = self._actions.silence(alarm_key(body.alarm_id))
        return "done", "silenced" if was else "was not sounding"

    def on_broadcast(self, raw: bytes, expiry_s: int | None) -> CommandAck | None:
        """A district broadcast: area alarm (titir) or all-clear (aman); posts outside the
        area stay silent and do not answer."""
        try:
            b = decode(Broadcast, raw)
        except PayloadError as exc:
            return self._malformed("broadcast", raw, exc)
        bid = str(b.broadcast_id)
        if self._ledger.result_of(bid) is not None:
            return None
        if not self._actions.inside(b.area):
            self._ledger.record(bid, "outside")
            return None
        result, detail, revision = self._apply_broadcast(b, expiry_s)
        self._ledger.record(bid, result, alarm_id=str(b.alarm_id), revision=revision)
        self._log.info("broadcast %s %s: %s (%s)", bid, b.action, result, detail)
        return self._reply(b.broadcast_id, result, detail)

    def _apply_broadcast(
        self, b: Broadcast, expiry_s: int | None
    ) -> tuple[Result, str, AlarmRevision | None]:
        problem = self._expiry_problem(expiry_s)
        if problem is not None:
            return problem[0], problem[1], None
        state: Literal["on", "off"] = "on" if b.action == "area_alarm" else "off"
        if not supersedes(b.revision, state, self._ledger.alarm(str(b.alarm_id))):
            return "superseded", "a newer revision was applied", None
        pattern = self._actions.pattern(b.pattern)
        if pattern is None:
            return "rejected", f"unknown siren pattern {b.pattern!r}", None
        if state == "on":
            self._actions.sound(alarm_key(b.alarm_id), pattern, b.duration_s)
        else:
            self._actions.silence(alarm_key(b.alarm_id))
            self._actions.sound(f"aman:{b.alarm_id}", pattern, b.duration_s)
        return (
            "done",
            f"{b.action}: {b.pattern} for {b.duration_s} s",
            AlarmRevision(b.revision, state),
        )
