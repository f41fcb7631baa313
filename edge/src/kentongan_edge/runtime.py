"""Putting a daemon together from a checked config: state file, hardware, link settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kentongan_protocol.provisioning.gateway import Gateway

from kentongan_edge.config import EdgeConfig
from kentongan_edge.daemon import DaemonOptions, GatewayDaemon
from kentongan_edge.hardware import EdgeCallback, Hardware, PinFactory
from kentongan_edge.ledger import CommandLedger
from kentongan_edge.link import LinkSettings
from kentongan_edge.logs import for_gateway
from kentongan_edge.outbox import Outbox
from kentongan_edge.storage import Meta, Synchronous, open_database
from kentongan_edge.telemetry import SystemProbe

OFFLINE_WITHIN_S = 20
MAX_WILL_DELAY_S = 5


def will_delay_s(keepalive_s: int) -> int:
    """Will delay so that broker detection (1.5 x keepalive) plus the delay stays <= 20 s."""
    return max(0, min(MAX_WILL_DELAY_S, int(OFFLINE_WITHIN_S - 1.5 * keepalive_s)))


def link_settings_for(gw: Gateway, password: str) -> LinkSettings:
    """The link as the gateway file describes it (user and client id are the gateway id)."""
    b = gw.broker
    return LinkSettings(
        host=b.host,
        port=b.port,
        username=gw.gateway_id,
        password=password,
        client_id=gw.gateway_id,
        tls=b.tls,
        ca_file=b.ca_file,
        keepalive_s=b.keepalive_s,
        will_delay_s=will_delay_s(b.keepalive_s),
    )


@dataclass(frozen=True, kw_only=True)
class StateSettings:
    """Where and how the outbox lives; `path=None` keeps it in memory (load tests only)."""

    path: Path | None
    capacity: int = 100_000
    synchronous: Synchronous = "FULL"


def open_state(cfg: EdgeConfig, state: StateSettings) -> tuple[Outbox, Meta, CommandLedger]:
    gw = cfg.gateway
    conn = open_database(state.path, synchronous=state.synchronous)
    log = for_gateway("kentongan_edge.outbox", gw.district, gw.gateway_id)
    return Outbox(conn, capacity=state.capacity, log=log), Meta(conn), CommandLedger(conn)


def build_daemon(
    cfg: EdgeConfig,
    *,
    state: StateSettings | None = None,
    link: LinkSettings | None,
    factory: PinFactory | None = None,
    options: DaemonOptions | None = None,
) -> GatewayDaemon:
    """A daemon for `cfg` on the running loop; `factory=None` means the Pi's own GPIO."""
    gw = cfg.gateway
    state = state or StateSettings(path=Path(gw.outbox.path), capacity=gw.outbox.max_events)
    outbox, meta, ledger = open_state(cfg, state)
    disk = state.path.parent if state.path is not None else Path.cwd()

    def hardware(on_edge: EdgeCallback) -> Hardware:
        return Hardware(gw, on_edge, factory=factory)

    try:
        return GatewayDaemon(
            cfg,
            hardware_factory=hardware,
            conn_outbox=(outbox, meta, ledger),
            link_settings=link,
            probe=SystemProbe(disk_path=disk),
            options=options,
        )
    except BaseException:
        outbox.close()
        raise
