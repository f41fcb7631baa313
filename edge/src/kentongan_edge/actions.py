"""What the post does when something happens: the daemon's reactions to inputs and to
commands, in one place so the rules read like the DESIGN's Behaviour section."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kentongan_protocol.payloads import AreaFilter, EventKind
from kentongan_protocol.provisioning.district import SirenPattern
from kentongan_protocol.provisioning.gateway import AnalogSensor, DigitalSensor, Gateway

from kentongan_edge import config as config_mod
from kentongan_edge.commands import Result, inside_area
from kentongan_edge.errors import ConfigError
from kentongan_edge.patterns import CHIRP

if TYPE_CHECKING:
    from kentongan_edge.daemon import GatewayDaemon

DUTY_KEY = "on_duty"
MAINTENANCE_CHIRP_S = 3
SUPERVISION_KINDS: dict[str, tuple[EventKind, EventKind]] = {
    "mains_lost": ("mains_lost", "mains_restored"),
    "battery_low": ("battery_low", "battery_ok"),
    "tamper": ("tamper_opened", "tamper_closed"),
}
# Sensors that sound the post's own siren; a PIR or a door only reports.
LOCAL_SIREN_SENSORS = frozenset({"smoke", "flood_float"})
FEEDBACK_MISSES_FOR_FAULT = 2


def _needs_restart(gw: Gateway) -> dict[str, object]:
    """The parts of a gateway file that only a restart can apply (all but hold times and
    the post's description)."""
    data = gw.model_dump()
    for button in data["panic_buttons"]:
        button.pop("hold_time_s")
    for key in ("cancel_button", "duty_button"):
        if data[key] is not None:
            data[key].pop("hold_time_s")
    for key in ("post_name", "location", "kampung"):
        data.pop(key)
    return data


class PostActions:
    """Implements `InputHandlers` and the commands' `Actions` for one daemon."""

    def __init__(self, daemon: GatewayDaemon) -> None:
        self.d = daemon
        self.on_duty = daemon.meta.get(DUTY_KEY) == "1"
        self.mains_lost = False
        self.battery_low = False
        self.tamper_open = False
        self.siren_fault = False
        self.short_presses = 0
        self._feedback_misses = 0
        self._warned_kecamatan = False

    # --- inputs ------------------------------------------------------------------------------

    def _local_alarm(self, key: str, incident_type: str) -> None:
        it = self.d.cfg.profile.incident_types[incident_type]
        if self.d.in_maintenance():
            self.d.alarms.start(key, CHIRP, MAINTENANCE_CHIRP_S)
        else:
            self.d.alarms.start(key, self.d.cfg.profile.siren_patterns[it.pattern], it.max_siren_s)

    def panic_held(self, name: str, incident_type: str) -> None:
        event = self.d.events.make("panic", name, incident_type=incident_type)
        # Siren first: it must not wait for the disk or the network.
        self._local_alarm(f"local:{event.event_id}", incident_type)
        self.d.cancel_window.raised(event.event_id, self.d.loop.time())
        self.d.record(event)
        self.d.log.warning(
            "PANIC %s (%s) held on %s: local siren on, event %s",
            incident_type,
            event.status,
            name,
            event.event_id,
        )

    def cancel_held(self, name: str) -> None:
        withdrawn = self.d.cancel_window.cancel(self.d.loop.time())
        if not withdrawn:
            self.d.log.info(
                "cancel on %s: no panic within the last %d s to withdraw (call the command "
                "centre instead)",
                name,
                self.d.cancel_window.window_s,
            )
            return
        for eid in withdrawn:
            self.d.alarms.stop(f"local:{eid}")
            self.d.record(self.d.events.make("cancel", name, cancels=eid))
            self.d.log.warning("panic %s withdrawn with %s", eid, name)

    def duty_held(self, name: str) -> None:
        self.on_duty = not self.on_duty
        self.d.meta.set(DUTY_KEY, "1" if self.on_duty else "0")
        kind: EventKind = "duty_check_in" if self.on_duty else "duty_check_out"
        self.d.record(self.d.events.make(kind, name))
        self.d.log.info("%s with %s", kind, name)

    def short_press(self, name: str) -> None:
        self.short_presses += 1
        self.d.log.info("short press on %s: hold the button to raise an alarm", name)

    def supervision_changed(self, role: str, name: str, active: bool) -> None:
        setattr(
            self,
            {"mains_lost": "mains_lost", "battery_low": "battery_low"}.get(role, "tamper_open"),
            active,
        )
        kind = SUPERVISION_KINDS[role][0 if active else 1]
        self.d.record(self.d.events.make(kind, name, source="sensor"))
        self.d.log.warning("%s (%s)", kind, name)

    def sensor_changed(self, sensor: DigitalSensor, active: bool) -> None:
        kind: EventKind = "sensor_triggered" if active else "sensor_cleared"
        event = self.d.events.make(
            kind,
            sensor.input,
            source="sensor",
            incident_type=sensor.incident_type,
            detail=sensor.kind,
        )
        if sensor.kind in LOCAL_SIREN_SENSORS:
            key = f"sensor:{sensor.input}"
            if active:
                self._local_alarm(key, sensor.incident_type)
            else:
                self.d.alarms.stop(key)
        self.d.record(event)
        self.d.log.warning("%s %s (%s)", sensor.kind, kind, sensor.input)

    def level_changed(self, sensor: AnalogSensor, high: bool, value: float) -> None:
        kind: EventKind = "level_high" if high else "level_normal"
        event = self.d.events.make(
            kind,
            sensor.input,
            source="sensor",
            incident_type=sensor.incident_type,
            value=round(value, 4),
        )
        key = f"level:{sensor.input}"
        if high:
            self._local_alarm(key, sensor.incident_type)
        else:
            self.d.alarms.stop(key)
        self.d.record(event)
        self.d.log.warning("%s %s at %.3f", sensor.input, kind, value)

    def strike_done(self) -> None:
        """End of a strike, siren still on: is current flowing in the siren circuit?"""
        fb = self.d.cfg.gateway.supervision.siren_feedback
        if fb is None:
            return
        if self.d.hardware.is_active(fb.input):
            self._feedback_misses = 0
            if self.siren_fault:
                self.siren_fault = False
                self.d.record(self.d.events.make("siren_ok", fb.input, source="sensor"))
                self.d.update_led()
            return
        self._feedback_misses += 1
        if self._feedback_misses == FEEDBACK_MISSES_FOR_FAULT and not self.siren_fault:
            self.siren_fault = True
            self.d.record(self.d.events.make("siren_fault", fb.input, source="sensor"))
            self.d.log.error("SIREN FAULT: no current in the siren circuit (%s)", fb.input)
            self.d.update_led()

    def power_state(self) -> str:
        if self.d.cfg.gateway.supervision.mains_lost is None:
            return "unknown"
        return "battery" if self.mains_lost else "mains"

    # --- commands ----------------------------------------------------------------------------

    def pattern(self, name: str) -> SirenPattern | None:
        return self.d.cfg.profile.siren_patterns.get(name)

    def sound(self, key: str, pattern: SirenPattern, duration_s: float) -> None:
        self.d.alarms.start(key, pattern, duration_s)

    def silence(self, key: str) -> bool:
        return self.d.alarms.stop(key)

    def self_test(self, duration_s: int) -> str:
        self.d.alarms.start("selftest", CHIRP, duration_s, strobe=True)
        fb = self.d.cfg.gateway.supervision.siren_feedback
        r = self.d.probe.read()
        return (
            f"chirp {duration_s} s; siren feedback {'watched' if fb else 'not wired'}"
            f"{' (FAULT)' if self.siren_fault else ''}; outbox {self.d.outbox.depth} held, "
            f"{self.d.outbox.shed_count} shed; cpu {r.cpu_temp_c} C; disk {r.disk_used_pct}%"
        )

    def maintenance(self, minutes: int) -> str:
        self.d.set_maintenance(minutes)
        if minutes <= 0:
            return "maintenance off"
        return f"maintenance on for {minutes} min: events go out as status=test"

    def ping(self) -> str:
        up = int(self.d.loop.time() - self.d.started)
        return f"pong: session {self.d.session_id}, up {up} s, outbox {self.d.outbox.depth}"

    def reload(self) -> tuple[Result, str]:
        cfg = self.d.cfg
        if cfg.gateway_path is None:
            return "rejected", "this gateway has no configuration file to reload"
        try:
            new = config_mod.load(cfg.gateway_path, cfg.profile_path)
        except ConfigError as exc:
            return "rejected", str(exc.problems[0])[:200] if exc.problems else "bad config"
        new_gw = new.gateway
        if self.d.refused is not None:
            # The link gave up on a refusal; a restart reads the credentials file again
            # (a technician fixed it, or the broker's account was restored) and retries.
            self.d.loop.call_later(0.5, self.d.request_restart, "retrying refused credentials")
            return "done", f"the broker refused us ({self.d.refused}): restarting to try again"
        if _needs_restart(cfg.gateway) != _needs_restart(new_gw):
            self.d.loop.call_later(0.5, self.d.request_restart, "wiring or broker changed")
            return "done", "wiring or broker changed: restarting to apply"
        self.d.cfg = new
        self.d.cancel_window.window_s = new.profile.cancel_window_s
        for b in new_gw.panic_buttons:
            self.d.router.set_hold(b.input, b.hold_time_s)
        for plain in (new_gw.cancel_button, new_gw.duty_button):
            if plain is not None:
                self.d.router.set_hold(plain.input, plain.hold_time_s)
        return "done", f"reloaded (config {new.config_hash[:12]})"

    def inside(self, area: AreaFilter) -> bool:
        gw = self.d.cfg.gateway
        verdict = inside_area(
            area,
            gateway_id=gw.gateway_id,
            kampung=gw.kampung,
            lat=gw.location.lat,
            lon=gw.location.lon,
            kecamatan=self.d.cfg.profile.kampung_kecamatan.get(gw.kampung),
        )
        if verdict is None:
            if not self._warned_kecamatan:
                self._warned_kecamatan = True
                self.d.log.warning(
                    "a broadcast names kecamatan only; this gateway's profile does not say its "
                    "kecamatan (a bundle older than kampung_kecamatan), so it stays silent: "
                    "install a new bundle from kentongan-provision bundle"
                )
            return False
        return verdict
