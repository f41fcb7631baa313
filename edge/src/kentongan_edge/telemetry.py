"""Heartbeat readings of the Pi: CPU temperature, load, memory, disk, Wi-Fi, clock state.

Each reading is optional: what cannot be read (no thermal zone in a container, no Wi-Fi on
Ethernet) is left out rather than guessed. Parsers take text so tests feed them samples.
"""

from __future__ import annotations

import ctypes
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

_TIME_ERROR = 5  # adjtimex(2): the kernel's clock is not synchronised
_CLOCK_CACHE_S = 10.0


@dataclass(frozen=True, slots=True)
class SystemReading:
    cpu_temp_c: float | None = None
    load_1m: float | None = None
    memory_used_pct: float | None = None
    disk_used_pct: float | None = None
    wifi_signal_dbm: int | None = None


def parse_meminfo(text: str) -> float | None:
    """Used memory in percent from /proc/meminfo (MemTotal - MemAvailable)."""
    fields: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            fields[key.strip()] = int(parts[0])
    total, avail = fields.get("MemTotal"), fields.get("MemAvailable")
    if not total or avail is None:
        return None
    return round(100.0 * (total - avail) / total, 1)


def parse_wireless(text: str) -> int | None:
    """Signal level in dBm of the first interface in /proc/net/wireless."""
    for line in text.splitlines()[2:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if name.strip() and len(parts) >= 3:
            try:
                level = int(float(parts[2].rstrip(".")))
            except ValueError:
                return None
            return level if -127 <= level <= 0 else None
    return None


def parse_thermal(text: str) -> float | None:
    """/sys/class/thermal/thermal_zone0/temp holds millidegrees Celsius."""
    try:
        value = int(text.strip()) / 1000
    except ValueError:
        return None
    return round(value, 1) if -60 <= value <= 150 else None


def kernel_clock_synced() -> bool:
    """Whether NTP (or timesyncd, chrony) has synchronised the kernel clock."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        timex = ctypes.create_string_buffer(512)  # struct timex, modes=0: read only
        state = int(libc.adjtimex(timex))
    except (OSError, AttributeError):
        return False
    return state not in (-1, _TIME_ERROR)


def machine_boot_id(root: Path = Path("/")) -> UUID:
    try:
        return UUID((root / "proc/sys/kernel/random/boot_id").read_text().strip())
    except (OSError, ValueError):
        return uuid.uuid4()


class SystemProbe:
    """Reads the machine's health; `root` lets tests point it at a fake tree."""

    def __init__(self, *, disk_path: Path, root: Path = Path("/")) -> None:
        self._root = root
        self._disk = disk_path
        self._synced = False
        self._synced_at = -_CLOCK_CACHE_S

    def _text(self, rel: str) -> str | None:
        try:
            return (self._root / rel).read_text()
        except OSError:
            return None

    def clock_synced(self) -> bool:
        now = time.monotonic()
        if now - self._synced_at >= _CLOCK_CACHE_S:
            self._synced = kernel_clock_synced()
            self._synced_at = now
        return self._synced

    def read(self) -> SystemReading:
        temp = self._text("sys/class/thermal/thermal_zone0/temp")
        mem = self._text("proc/meminfo")
        wifi = self._text("proc/net/wireless")
        try:
            load: float | None = round(os.getloadavg()[0], 2)
        except OSError:
            load = None
        disk = None
        try:
            st = os.statvfs(self._disk)
            if st.f_blocks:
                disk = round(100.0 * (st.f_blocks - st.f_bavail) / st.f_blocks, 1)
        except OSError:
            pass
        return SystemReading(
            cpu_temp_c=None if temp is None else parse_thermal(temp),
            load_1m=load,
            memory_used_pct=None if mem is None else parse_meminfo(mem),
            disk_used_pct=disk,
            wifi_signal_dbm=None if wifi is None else parse_wireless(wifi),
        )
