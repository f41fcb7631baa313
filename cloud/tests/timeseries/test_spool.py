"""The outage spool on a real SQLite file: bounded, oldest first, kept across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
from kentongan_cloud.timeseries.spool import Spool
from kentongan_cloud.timeseries.writer import WriterOptions


def lines(start: int, stop: int) -> list[bytes]:
    return [f"press count=1i {i}".encode() for i in range(start, stop)]


def test_batches_come_back_oldest_first_and_survive_a_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", max_points=100)
    assert spool.put(lines(0, 3)) == 0
    assert spool.put(lines(3, 5)) == 0
    spool.close()

    again = Spool(tmp_path / "spool.sqlite", max_points=100)
    assert again.points == 5
    first = again.oldest()
    assert first is not None
    assert (first.points, first.body) == (3, b"\n".join(lines(0, 3)))
    again.remove(first)
    again.remove(first)  # removing twice does not miscount
    second = again.oldest()
    assert second is not None
    assert second.body == b"\n".join(lines(3, 5))
    assert again.points == 2


def test_a_full_spool_drops_whole_oldest_batches(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", max_points=10)
    for start in range(0, 12, 4):  # 3 batches of 4 points: the first must go
        dropped = spool.put(lines(start, start + 4))
    assert dropped == 4
    assert spool.points == 8
    oldest = spool.oldest()
    assert oldest is not None
    assert oldest.body.startswith(b"press count=1i 4\n")


def test_a_batch_larger_than_the_spool_keeps_its_newest_points(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", max_points=3)
    assert spool.put(lines(0, 5)) == 2
    oldest = spool.oldest()
    assert oldest is not None
    assert oldest.body == b"\n".join(lines(2, 5))


def test_options_refuse_a_spool_smaller_than_a_batch(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="spool_max_points"):
        WriterOptions(spool_path=tmp_path / "s", batch_size=100, spool_max_points=10)
    with pytest.raises(ValueError, match="batch_size"):
        WriterOptions(spool_path=tmp_path / "s", batch_size=0)
