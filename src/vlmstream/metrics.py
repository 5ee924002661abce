"""Latency per stage and end to end (p50/p95/p99/max, histograms), analysed FPS per stream,
drops by reason. Printed at the end of a run and written as JSON (and a PNG histogram).

Samples are kept in bounded windows (the most recent ``WINDOW`` per series) so a server
running for weeks holds constant memory; a run shorter than that keeps every sample.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlmstream.frames import Result

WINDOW = 200_000


def percentiles(samples: Iterable[float]) -> dict[str, float | int | None]:
    """count, mean, p50, p95, p99, max of a series (ms); None values when empty."""
    a = np.fromiter(samples, dtype=np.float64)
    if a.size == 0:
        return {"count": 0, "mean": None, "p50": None, "p95": None, "p99": None, "max": None}
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {"count": int(a.size), "mean": round(float(a.mean()), 3), "p50": round(float(p50), 3),
            "p95": round(float(p95), 3), "p99": round(float(p99), 3),
            "max": round(float(a.max()), 3)}


@dataclass
class StreamStats:
    """Results seen for one stream, for its FPS and latency."""

    e2e_ms: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    results: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=64))  # sink stamps

    def fps(self, *, recent: bool = False) -> float:
        """Analysed frames per second: over the whole run, or over the last few results."""
        if recent:
            if len(self.recent) < 2:
                return 0.0
            span = self.recent[-1] - self.recent[0]
            return (len(self.recent) - 1) / span if span > 0 else 0.0
        if self.first_ts is None or self.last_ts is None or self.results < 2:
            return 0.0
        span = self.last_ts - self.first_ts
        return (self.results - 1) / span if span > 0 else 0.0


class Metrics:
    """Collects timings from results; thread-safe (observed by the worker, read by views)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.stage_ms: dict[str, deque[float]] = {}
        self.e2e_ms: deque[float] = deque(maxlen=WINDOW)
        self.capture_e2e_ms: deque[float] = deque(maxlen=WINDOW)
        self.backend_ms: deque[float] = deque(maxlen=WINDOW)
        self.batch_sizes: deque[int] = deque(maxlen=WINDOW)
        self.streams: dict[str, StreamStats] = {}
        self.started = time.time()

    def observe_batch(self, size: int, infer_ms: float) -> None:
        with self._lock:
            self.batch_sizes.append(size)
            self.backend_ms.append(infer_ms)

    def observe(self, r: Result) -> None:
        sink = r.stages.get("sink")
        if sink is None:
            return
        with self._lock:
            for stage, ms in r.stages.durations_ms().items():
                self.stage_ms.setdefault(stage, deque(maxlen=WINDOW)).append(ms)
            e2e = (sink - r.arrival_ts) * 1000.0
            self.e2e_ms.append(e2e)
            if r.capture_ts is not None:
                self.capture_e2e_ms.append((sink - r.capture_ts) * 1000.0)
            s = self.streams.setdefault(r.stream_id, StreamStats())
            s.e2e_ms.append(e2e)
            s.results += 1
            s.first_ts = sink if s.first_ts is None else s.first_ts
            s.last_ts = sink
            s.recent.append(sink)

    def stream_summary(self, stream_id: str) -> dict[str, Any]:
        with self._lock:
            s = self.streams.get(stream_id)
            if s is None:
                return {"results": 0, "fps": 0.0, "fps_recent": 0.0, "e2e_ms": percentiles(())}
            return {"results": s.results, "fps": round(s.fps(), 3),
                    "fps_recent": round(s.fps(recent=True), 3),
                    "e2e_ms": percentiles(list(s.e2e_ms))}

    def summary(self, counters: dict[str, dict[str, Any]] | None = None,
                targets: dict[str, float] | None = None) -> dict[str, Any]:
        """Everything as one JSON-able dict; ``counters`` are per-stream frame counters,
        ``targets`` per-stream target analysis FPS (to report the share achieved)."""
        with self._lock:
            stages = {k: percentiles(list(v)) for k, v in self.stage_ms.items()}
            out: dict[str, Any] = {
                "duration_s": round(time.time() - self.started, 3),
                "e2e_ms": percentiles(list(self.e2e_ms)),
                "capture_to_sink_ms": percentiles(list(self.capture_e2e_ms)),
                "backend_batch_ms": percentiles(list(self.backend_ms)),
                "stages_ms": stages,
                "batch_size_mean": (round(float(np.mean(self.batch_sizes)), 3)
                                    if self.batch_sizes else None),
                "streams": {},
            }
            ids = set(self.streams) | set(counters or {})
        for sid in sorted(ids):
            st = self.stream_summary(sid)
            if counters and sid in counters:
                st.update(counters[sid])
            if targets and sid in targets and targets[sid] > 0:
                st["target_fps"] = targets[sid]
                st["fps_share"] = round(st["fps"] / targets[sid], 3)
            out["streams"][sid] = st
        return out

    def write_json(self, path: str | Path, summary: dict[str, Any]) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(summary, indent=2) + "\n")

    def histogram_png(self, path: str | Path, title: str = "end-to-end latency") -> Path | None:
        """A histogram of e2e latency with p50/p95/p99 marked; None when nothing to plot."""
        with self._lock:
            data = np.asarray(list(self.e2e_ms), dtype=np.float64)
        if data.size == 0:
            return None
        return plot_latency_histogram({"vlmstream": data}, path, title=title)


def plot_latency_histogram(series: dict[str, np.ndarray], path: str | Path,
                           title: str = "end-to-end latency") -> Path:
    """One PNG histogram per named latency series (ms), percentiles drawn as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    hi = max(float(np.percentile(v, 99.9)) for v in series.values() if len(v))
    bins = np.linspace(0, hi * 1.05 + 1e-9, 60)
    for (name, v), color in zip(series.items(), ("tab:blue", "tab:orange", "tab:green",
                                                   "tab:red"), strict=False):
        ax.hist(np.clip(v, 0, bins[-1]), bins=bins, alpha=0.55, label=name, color=color)
        for q, style in ((50, "-"), (95, "--"), (99, ":")):
            ax.axvline(float(np.percentile(v, q)), color=color, linestyle=style, linewidth=1.2)
    ax.set_xlabel("latency (ms)   lines: p50 solid, p95 dashed, p99 dotted")
    ax.set_ylabel("results")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
