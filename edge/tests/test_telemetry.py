"""Readings of the Pi's health from /proc and /sys samples."""

from __future__ import annotations

from pathlib import Path

from kentongan_edge.telemetry import SystemProbe, parse_meminfo, parse_thermal, parse_wireless

WIRELESS = """\
Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE
 face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22
 wlan0: 0000   54.  -67.  -256        0      0      0      0     22        0
"""
MEMINFO = "MemTotal:        948280 kB\nMemFree:          60000 kB\nMemAvailable:     474140 kB\n"


def test_parsers() -> None:
    assert parse_wireless(WIRELESS) == -67
    assert parse_wireless(WIRELESS.splitlines(keepends=True)[0]) is None
    assert parse_meminfo(MEMINFO) == 50.0
    assert parse_meminfo("MemTotal: 0 kB\n") is None
    assert parse_thermal("48312\n") == 48.3
    assert parse_thermal("garbage") is None


def test_probe_reads_a_pi_tree_and_skips_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "sys/class/thermal/thermal_zone0").mkdir(parents=True)
    (tmp_path / "sys/class/thermal/thermal_zone0/temp").write_text("61000\n")
    (tmp_path / "proc/net").mkdir(parents=True)
    (tmp_path / "proc/meminfo").write_text(MEMINFO)
    r = SystemProbe(disk_path=tmp_path, root=tmp_path).read()
    assert r.cpu_temp_c == 61.0
    assert r.memory_used_pct == 50.0
    assert r.wifi_signal_dbm is None  # on Ethernet: left out, not guessed
    assert r.disk_used_pct is not None
    assert 0 <= r.disk_used_pct <= 100
