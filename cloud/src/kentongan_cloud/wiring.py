"""The real sinks of a deployment, built from settings: the responders' notifier and the
technicians' alerts, the InfluxDB writer and Grafana annotations. Each part is on when its
section is configured.

The runtime owns what this builds: it runs the responders' delivery worker, mounts their
routes, and closes everything here on shutdown (the writer flushes or spools its points).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from kentongan_protocol.provisioning.district import District

from kentongan_cloud.clock import Clock
from kentongan_cloud.grafana.annotations import GrafanaAnnotations
from kentongan_cloud.outbox.worker import Sinks
from kentongan_cloud.records import OutboxKind
from kentongan_cloud.responders import Responders, build_responders
from kentongan_cloud.responders.service import AckListener
from kentongan_cloud.settings import Settings
from kentongan_cloud.store.db import Database
from kentongan_cloud.timeseries import TimeSeriesWriter, WriterOptions, open_writer

_LOGGER = logging.getLogger(__name__)


@dataclass
class Wired:
    """The sinks handed to the outbox, and the parts behind them that need a lifecycle."""

    sinks: Sinks
    responders: Responders | None = None
    writer: TimeSeriesWriter | None = None
    grafana: GrafanaAnnotations | None = None
    _closed: bool = field(default=False, repr=False)

    async def aclose(self) -> None:
        """Close each part once; the writer flushes what it holds (or spools it)."""
        if self._closed:
            return
        self._closed = True
        if self.responders is not None:
            await self.responders.aclose()
        if self.grafana is not None:
            await self.grafana.aclose()
        if self.writer is not None:
            stats = await asyncio.to_thread(self.writer.close)
            _LOGGER.info(
                "time-series writer closed: %d written, %d spooled, %d dropped",
                stats.written,
                stats.spooled,
                stats.dropped,
            )


def undelivered(settings: Settings) -> frozenset[OutboxKind]:
    """The outbox kinds no process configured by `settings` delivers: the intake and the
    operators' actions leave them unwritten rather than queue a row per event forever.
    Siren commands and broadcasts always go (the MQTT link is part of every deployment)."""
    responders = settings.responders is not None
    have: dict[OutboxKind, bool] = {
        "notification": responders,
        "point": bool(settings.influx.url),
        "annotation": bool(settings.grafana.url),
        "fleet_alert": responders,
    }
    return frozenset(kind for kind, on in have.items() if not on)


async def wire_sinks(
    settings: Settings,
    db: Database,
    district: District,
    *,
    clock: Clock | None = None,
    on_ack: AckListener | None = None,
    env: Mapping[str, str] | None = None,
    delivery: bool = True,
) -> Wired:
    """Build the configured sinks. `env` holds the webhook secrets named in the district
    file (default: the process environment). Without `delivery` (an API-only process) only
    the responders are built: their links and acknowledgements are served everywhere."""
    wired = Wired(Sinks())
    try:
        if settings.responders is not None:
            wired.responders = await build_responders(
                db.engine,
                district,
                settings.responders,
                env=os.environ if env is None else env,
                clock=clock,
                on_ack=on_ack,
                create_tables=False,
            )
            wired.sinks.notifier = wired.responders.notifier
            # Technicians' alerts go out on the responders' channels and providers.
            wired.sinks.fleet_alerts = wired.responders.fleet_alerts
        influx = settings.influx
        if influx.url and delivery:
            spool = influx.spool_path or settings.data_dir / "timeseries-spool.db"
            spool.parent.mkdir(parents=True, exist_ok=True)
            wired.writer = open_writer(
                url=influx.url,
                token=influx.token.get_secret_value(),
                org=influx.org,
                bucket=influx.bucket,
                timeout_s=influx.timeout_s,
                options=WriterOptions(
                    spool_path=spool,
                    batch_size=influx.batch_size,
                    flush_interval_s=influx.flush_interval_s,
                    spool_max_points=max(influx.spool_max_points, influx.batch_size),
                ),
            )
            wired.sinks.points = wired.writer
        if settings.grafana.url and delivery:
            wired.grafana = GrafanaAnnotations(
                url=settings.grafana.url,
                token=settings.grafana.token.get_secret_value(),
                timeout_s=settings.grafana.timeout_s,
            )
            wired.sinks.annotations = wired.grafana
    except BaseException:
        await wired.aclose()
        raise
    _LOGGER.info(
        "sinks: responders %s, time series %s, Grafana annotations %s",
        "on" if wired.responders else "off",
        "on" if wired.writer else "off",
        "on" if wired.grafana else "off",
    )
    return wired
