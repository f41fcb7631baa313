"""The InfluxDB adapter: the only module of ours that imports influxdb-client.

It does two things: encodes `TimePoint`s as line protocol (millisecond precision, the finest
that every store we target keeps), and sends one encoded batch synchronously, gzip-compressed,
to `/api/v2/write`. Batching, retries and the outage spool are ours (writer.py): the client's
batching mode loses data on close and after its retries (see FINDINGS.md), so it is not used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import cast

import urllib3
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from kentongan_cloud.ports import TimePoint
from kentongan_cloud.timeseries.errors import WriteFailedError, WriteRejectedError

_LOGGER = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# The client declares its precision constants as plain strings.
_PRECISION = cast(WritePrecision, WritePrecision.MS)

# Statuses that mean "this batch will never be accepted": retrying would block the spool.
# 401/403/404 are configuration (token, org, bucket) and are retried until an operator fixes it.
_REJECTED = frozenset({400, 413, 422})


def epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since the epoch, exactly (no float rounding)."""
    return (moment - _EPOCH) // _MS


def encode(points: Iterable[TimePoint]) -> list[bytes]:
    """One line of line protocol per point, millisecond timestamps.

    A point whose fields are all non-finite floats encodes to nothing and is left out.
    """
    lines: list[bytes] = []
    for tp in points:
        point = Point(tp.measurement)
        for key, value in tp.tags.items():
            point.tag(key, value)
        for key, field in tp.fields.items():
            point.field(key, field)
        point.time(epoch_ms(tp.time), _PRECISION)
        line: str = point.to_line_protocol()
        if line:
            lines.append(line.encode())
    return lines


class InfluxTransport:
    """Writes encoded batches to InfluxDB 2.x / 3.x (or anything serving `/api/v2/write`)."""

    def __init__(
        self, *, url: str, token: str, org: str, bucket: str, timeout_s: float = 10.0
    ) -> None:
        self.url = url
        self.bucket = bucket
        self.org = org
        self._client = InfluxDBClient(
            url=url, token=token, org=org, enable_gzip=True, timeout=int(timeout_s * 1000)
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def encode(self, points: Iterable[TimePoint]) -> list[bytes]:
        return encode(points)

    def send(self, body: bytes) -> None:
        """Write one batch; raise WriteRejectedError (drop it) or WriteFailedError (retry)."""
        try:
            self._api.write(
                bucket=self.bucket, org=self.org, record=body, write_precision=_PRECISION
            )
        except ApiException as exc:
            status = int(exc.status or 0)
            detail = f"HTTP {status} {exc.reason}: {str(exc.body)[:200]}"
            if status in _REJECTED:
                raise WriteRejectedError(detail) from exc
            raise WriteFailedError(detail) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            msg = f"{type(exc).__name__}: {str(exc)[:200]}"
            raise WriteFailedError(msg) from exc

    def close(self) -> None:
        self._client.close()
