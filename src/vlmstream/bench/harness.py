"""Run one system (the engine or the naive baseline) on a scenario and measure it.

Both systems are measured the same way: every result is stamped at the sink; only results
that reach the sink inside the measurement window (after the warm-up) count; frame counters
are read at both ends of the window so drops are the window's own. CPU, RSS and (when a GPU
is in use) GPU memory are sampled while it runs.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import psutil

from vlmstream.bench.scenario import Scenario
from vlmstream.frames import Result, now
from vlmstream.metrics import percentiles
from vlmstream.pipeline import Pipeline

ENGINE = "engine"
BASELINE = "baseline"


class Ticker(Protocol):
    """Where progress goes (a rich progress bar in the CLI, nothing in tests)."""

    def __call__(self, description: str, done_s: float, total_s: float) -> None: ...


def no_progress(description: str, done_s: float, total_s: float) -> None:
    return None


class System(Protocol):
    """What the harness drives: the engine's Pipeline and the NaiveBaseline both fit."""

    def start(self) -> None: ...
    def stop(self, *, drain: bool = True) -> None: ...
    def subscribe(self, fn: Callable[[Result], None], *, images: bool = False) -> None: ...


class Recorder:
    """Keeps every result's timings; cheap enough to run on the inference worker."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, dict[str, float], float | None]] = []

    def __call__(self, r: Result) -> None:
        sink = r.stages.get("sink")
        if sink is None:
            return
        t0, t1 = r.stages.get("infer_start"), r.stages.get("infer_end")
        backend_ms = None if t0 is None or t1 is None else (t1 - t0) * 1000.0
        self.rows.append((r.stream_id, sink, (sink - r.arrival_ts) * 1000.0,
                          r.stages.durations_ms(), backend_ms))

    def window(self, t0: float, t1: float) -> list[tuple[str, float, float, dict[str, float],
                                                         float | None]]:
        return [row for row in list(self.rows) if t0 <= row[1] <= t1]


class ResourceMonitor:
    """Samples this process's CPU % (of one core) and RSS every ``interval`` seconds."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self._proc = psutil.Process(os.getpid())
        self._cpu: list[float] = []
        self._rss: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-resources", daemon=True)

    def start(self) -> None:
        self._proc.cpu_percent(None)
        self._thread.start()

    def reset(self) -> None:
        """Start the window: forget the warm-up's samples."""
        self._cpu.clear()
        self._rss.clear()
        _gpu_reset_peak()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._cpu.append(self._proc.cpu_percent(None))
            self._rss.append(self._proc.memory_info().rss)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join(2.0)
        cpu = np.asarray(self._cpu or [0.0])
        rss = np.asarray(self._rss or [self._proc.memory_info().rss])
        return {"cpu_pct_mean": round(float(cpu.mean()), 1),
                "cpu_pct_max": round(float(cpu.max()), 1),
                "cpu_cores": psutil.cpu_count(),
                "rss_mb_max": round(float(rss.max()) / 2**20, 1),
                "gpu_mem_mb_max": _gpu_peak_mb()}


def _cuda() -> Any:
    """torch.cuda when torch is already loaded (by a backend) and sees a GPU, else None."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        return torch.cuda if torch.cuda.is_available() else None
    except Exception:
        return None


def _gpu_reset_peak() -> None:
    cuda = _cuda()
    if cuda is not None:
        cuda.reset_peak_memory_stats()


def _gpu_peak_mb() -> float | None:
    cuda = _cuda()
    return None if cuda is None else round(cuda.max_memory_allocated() / 2**20, 1)


@dataclass
class RunResult:
    """One system, N streams, one measurement window."""

    system: str
    streams: int
    target_fps: float
    budget_ms: float
    fps_share_needed: float
    window_s: float
    e2e_ms: np.ndarray
    stage_ms: dict[str, np.ndarray]
    backend_ms: np.ndarray
    added_ms: np.ndarray  # e2e minus backend time: what the system itself adds
    analysed: dict[str, int]
    spans: dict[str, float]  # per stream: seconds from its first to its last result
    drops: dict[str, int]
    frames_in: int
    resources: dict[str, Any] = field(default_factory=dict)

    def fps_per_stream(self) -> dict[str, float]:
        """Results per second per stream. Counting results in a short window is off by up to
        one result; so a stream whose results span most of the window is rated by the
        intervals between them, any other (it stalled or started late) by count / window."""
        out = {}
        for sid, n in self.analysed.items():
            span = self.spans.get(sid, 0.0)
            out[sid] = (n - 1) / span if n >= 3 and span >= 0.5 * self.window_s \
                else n / self.window_s
        return out

    @property
    def p99(self) -> float | None:
        return float(np.percentile(self.e2e_ms, 99)) if self.e2e_ms.size else None

    @property
    def analysed_fps(self) -> float:
        """Frames analysed per second, all streams together."""
        return sum(self.fps_per_stream().values())

    @property
    def fps_share_min(self) -> float:
        fps = self.fps_per_stream()
        return min(fps.values()) / self.target_fps if fps else 0.0

    @property
    def holds(self) -> bool:
        """Every stream got its share of the target rate, and p99 stayed inside the budget."""
        p99 = self.p99
        return p99 is not None and p99 <= self.budget_ms and \
            self.fps_share_min >= self.fps_share_needed

    def summary(self) -> dict[str, Any]:
        fps = np.asarray(list(self.fps_per_stream().values()) or [0.0])
        return {
            "system": self.system, "streams": self.streams, "window_s": round(self.window_s, 3),
            "target_fps": self.target_fps, "budget_ms": self.budget_ms, "holds": self.holds,
            "e2e_ms": percentiles(self.e2e_ms),
            "stages_ms": {k: percentiles(v) for k, v in self.stage_ms.items()},
            "backend_ms": percentiles(self.backend_ms),
            "added_ms": percentiles(self.added_ms),
            "analysed_fps_total": round(self.analysed_fps, 3),
            "analysed_fps_per_stream": {"min": round(float(fps.min()), 3),
                                        "mean": round(float(fps.mean()), 3),
                                        "max": round(float(fps.max()), 3)},
            "fps_share_min": round(self.fps_share_min, 3),
            "frames_in": self.frames_in, "drops": self.drops, "resources": self.resources,
        }


def run_engine(sc: Scenario, n: int | None = None, tick: Ticker = no_progress) -> RunResult:
    """The engine (Pipeline) on ``n`` streams of the scenario."""
    sc.seed_everything()
    pipe = Pipeline()
    for cfg in sc.stream_configs(n):
        pipe.add_stream(cfg)
    counters = lambda: {h.id: h.slot.counters.snapshot() for h in list(pipe.streams.values())}  # noqa: E731
    return measure(ENGINE, sc, pipe, counters, n, tick)


def run_baseline(sc: Scenario, n: int | None = None, tick: Ticker = no_progress) -> RunResult:
    """The naive thread-per-stream pattern on the same streams and backend."""
    from vlmstream.bench.baseline import NaiveBaseline

    sc.seed_everything()
    base = NaiveBaseline(sc.stream_configs(n), sc.backend)
    return measure(BASELINE, sc, base, base.counters, n, tick)


def measure(system: str, sc: Scenario, target: System,
            counters: Callable[[], dict[str, dict[str, Any]]], n: int | None,
            tick: Ticker = no_progress) -> RunResult:
    """Start ``target``, wait out the warm-up, measure for the scenario's duration, stop."""
    n = sc.streams if n is None else n
    rec = Recorder()
    target.subscribe(rec)
    mon = ResourceMonitor()
    label = f"{system} x{n}"
    total = sc.warmup_s + sc.duration_s
    target.start()
    mon.start()
    try:
        _wait(sc.warmup_s, lambda d: tick(label, d, total))
        c0, t0 = counters(), now()
        mon.reset()
        _wait(sc.duration_s, lambda d: tick(label, sc.warmup_s + d, total))
        t1, c1 = now(), counters()
    finally:
        resources = mon.stop()
        target.stop(drain=False)
    rows = rec.window(t0, t1)
    stages: dict[str, list[float]] = {}
    for _, _, _, durs, _ in rows:
        for k, v in durs.items():
            stages.setdefault(k, []).append(v)
    analysed = Counter({sid: 0 for sid in c1})
    analysed.update(row[0] for row in rows)
    sinks: dict[str, list[float]] = {}
    for row in rows:
        sinks.setdefault(row[0], []).append(row[1])
    drops: Counter[str] = Counter()
    for sid, end in c1.items():
        start = c0.get(sid, {"dropped": {}})
        for reason, k in end["dropped"].items():
            drops[reason] += k - start["dropped"].get(reason, 0)
    frames_in = sum(end["frames_in"] - c0.get(sid, {"frames_in": 0})["frames_in"]
                    for sid, end in c1.items())
    return RunResult(
        system=system, streams=n, target_fps=sc.fps, budget_ms=sc.max_latency_ms,
        fps_share_needed=sc.capacity.fps_share, window_s=t1 - t0,
        e2e_ms=np.asarray([r[2] for r in rows], dtype=np.float64),
        stage_ms={k: np.asarray(v) for k, v in stages.items()},
        backend_ms=np.asarray([r[4] for r in rows if r[4] is not None], dtype=np.float64),
        added_ms=np.asarray([r[2] - r[4] for r in rows if r[4] is not None], dtype=np.float64),
        analysed=dict(analysed), spans={k: max(v) - min(v) for k, v in sinks.items()},
        drops={k: v for k, v in drops.items() if v},
        frames_in=frames_in, resources=resources)


def _wait(seconds: float, tick: Callable[[float], None]) -> None:
    start = time.monotonic()
    while (done := time.monotonic() - start) < seconds:
        tick(done)
        time.sleep(min(0.2, seconds - done))
    tick(seconds)
