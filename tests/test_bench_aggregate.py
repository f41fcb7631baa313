"""The bench's folding of repeated runs into medians, and its refusal of bad arguments."""

from __future__ import annotations

import pytest
from kentongan_testkit.bench.aggregate import median_of_runs, ms
from kentongan_testkit.bench.cli import main


def test_median_of_runs_takes_each_figure_on_its_own() -> None:
    runs = [
        {"db": "sqlite", "lat": {"p50_ms": 10.0, "p99_ms": None}, "ok": True, "n": 1, "l": [1]},
        {"db": "sqlite", "lat": {"p50_ms": 30.0, "p99_ms": 7.0}, "ok": False, "n": 5, "l": [2]},
        {"db": "sqlite", "lat": {"p50_ms": 20.0, "p99_ms": 9.0}, "ok": True, "n": 3, "l": [3]},
    ]
    got = median_of_runs(runs)
    assert got == {
        "db": "sqlite",
        "lat": {"p50_ms": 20.0, "p99_ms": 8.0},
        "ok": False,  # a flag holds only if it held in every run
        "n": 3,
        "l": [1],
    }


def test_ms_of_no_latencies_is_none_not_zero() -> None:
    assert ms([]) == {"p50_ms": None, "p99_ms": None, "max_ms": None}
    assert ms([0.002, 0.001, 0.003]) == {"p50_ms": 2.0, "p99_ms": 3.0, "max_ms": 3.0}


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--procs", "0"], "at least 1, got '0'"),
        (["--runs", "two"], "at least 1, got 'two'"),
        (["--databases", "mysql"], "expected a comma list of sqlite, postgresql"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert says in capsys.readouterr().err + str(exc.value.code)
