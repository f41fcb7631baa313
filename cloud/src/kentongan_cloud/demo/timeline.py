"""The scenario's printed timeline: seconds since the first press, one line a step."""

from __future__ import annotations

import time


class Timeline:
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def say(self, label: str, detail: str = "") -> None:
        t = time.monotonic() - self.t0
        line = f"[+{t:6.2f} s] {label}"
        if detail:
            line += f" — {detail}"
        print(line, flush=True)

    def more(self, text: str) -> None:
        for row in text.splitlines():
            print(f"             │ {row}", flush=True)
