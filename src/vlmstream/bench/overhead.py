"""The latency the pipeline itself adds: one live 30 fps stream, a backend that does nothing,
and per result end-to-end minus backend time. Target: p99 <= 10 ms."""

from __future__ import annotations

from typing import Any

from vlmstream.bench.harness import Ticker, no_progress, run_engine
from vlmstream.bench.scenario import Scenario
from vlmstream.config import BackendConfig, TaskConfig

TARGET_P99_MS = 10.0


def overhead_scenario(duration_s: float = 10.0, size: str = "640x360", fps: float = 30.0,
                      policy: str = "latest") -> Scenario:
    return Scenario(name="overhead", streams=1, fps=fps, max_latency_ms=1000, drop_policy=policy,
                    source=f"synthetic://?size={size}&fps={fps:g}&pattern=moving&seed=0",
                    backend=BackendConfig(name="null"), task=TaskConfig(kind="null"),
                    warmup_s=1.0, duration_s=duration_s)


def measure_overhead(duration_s: float = 10.0, policy: str = "latest",
                     tick: Ticker = no_progress) -> dict[str, Any]:
    r = run_engine(overhead_scenario(duration_s, policy=policy), tick=tick)
    s = r.summary()
    return {"stream": "synthetic 640x360 @ 30 fps, live", "analysis_fps": 30.0, "policy": policy,
            "results": int(r.added_ms.size), "added_ms": s["added_ms"],
            "stages_ms": s["stages_ms"], "target_p99_ms": TARGET_P99_MS,
            "meets_target": bool(r.added_ms.size) and s["added_ms"]["p99"] <= TARGET_P99_MS}
