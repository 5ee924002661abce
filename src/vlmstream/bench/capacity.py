"""Capacity: the most streams a system holds at the target rate inside the p99 budget.

Ramp up (1, 2, 4, ...) until a probe fails, then bisect between the last that held and the
first that did not. Each probe is a full measured run (``RunResult.holds``); a count that
fails is measured once more and fails only if both runs do, so one noisy window on a shared
machine does not end the search. Assumes more streams never make things better.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vlmstream.bench.harness import RunResult
from vlmstream.bench.scenario import CapacitySpec


@dataclass
class CapacityResult:
    system: str
    held: int  # 0 when even the smallest count failed
    reached_max: bool  # held at max_streams: the true capacity may be higher
    probes: list[RunResult] = field(default_factory=list)

    def table(self) -> list[dict[str, Any]]:
        rows = []
        for r in sorted(self.probes, key=lambda r: r.streams):
            rows.append({"streams": r.streams, "p99_ms": None if r.p99 is None else round(r.p99, 1),
                         "fps_share_min": round(r.fps_share_min, 3),
                         "analysed_fps_total": round(r.analysed_fps, 2), "holds": r.holds})
        return rows

    def summary(self) -> dict[str, Any]:
        return {"system": self.system, "held": self.held, "reached_max": self.reached_max,
                "probes": self.table()}


def search(system: str, probe: Callable[[int], RunResult], spec: CapacitySpec) -> CapacityResult:
    """Find the largest stream count in [min_streams, max_streams] that holds."""
    res = CapacityResult(system, 0, False)

    def ok(n: int) -> bool:
        for _ in range(2):
            r = probe(n)
            res.probes.append(r)
            if r.holds:
                return True
        return False

    lo, hi = spec.min_streams, spec.max_streams
    good, bad = 0, None
    n = lo
    while True:  # ramp
        if ok(n):
            good = n
            if n >= hi:
                res.held, res.reached_max = n, True
                return res
            n = min(hi, n * 2)
        else:
            bad = n
            break
    while bad - good > 1 and good >= lo:  # bisect
        mid = (good + bad) // 2
        if ok(mid):
            good = mid
        else:
            bad = mid
    res.held = good
    return res
