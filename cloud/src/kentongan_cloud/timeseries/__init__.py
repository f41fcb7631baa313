"""Time series: typed measurements, the InfluxDB writer and its outage spool.

The core builds points with `kentongan_cloud.timeseries.measurements` and hands them to a
`PointSink` (`TimeSeriesWriter`); `open_writer` wires the InfluxDB adapter to the writer.
"""

from __future__ import annotations

from kentongan_cloud.timeseries.errors import (
    SpoolError,
    TimeSeriesError,
    WriteFailedError,
    WriteRejectedError,
)
from kentongan_cloud.timeseries.influx import InfluxTransport
from kentongan_cloud.timeseries.writer import TimeSeriesWriter, WriterOptions, WriterStats

__all__ = [
    "SpoolError",
    "TimeSeriesError",
    "TimeSeriesWriter",
    "WriteFailedError",
    "WriteRejectedError",
    "WriterOptions",
    "WriterStats",
    "open_writer",
]


def open_writer(
    *, url: str, token: str, org: str, bucket: str, options: WriterOptions, timeout_s: float = 10.0
) -> TimeSeriesWriter:
    """A started writer to InfluxDB at `url` (gzip, `/api/v2/write`); `close()` it on shutdown."""
    sender = InfluxTransport(url=url, token=token, org=org, bucket=bucket, timeout_s=timeout_s)
    return TimeSeriesWriter(sender, options).start()
