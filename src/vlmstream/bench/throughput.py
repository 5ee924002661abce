"""Decode throughput: the engine with a backend that does nothing, against a plain PyAV loop
decoding and resizing the same files with the same number of threads.

What the engine adds on top of decoding (buffers, sampler, scheduler, results) should cost
little: the target is >= 0.90x the plain loop's frames per second. Rounds alternate
engine/baseline in ABBA order (and the files are read once first, so neither side pays for a
cold page cache): drift on a noisy machine hits both alike.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

from vlmstream.bench.harness import Ticker, no_progress
from vlmstream.config import BackendConfig, StreamConfig, TaskConfig
from vlmstream.pipeline import Pipeline
from vlmstream.sources.pyav import parse_size


def engine_fps(files: list[Path], size: str, timeout_s: float = 300.0) -> dict[str, Any]:
    """All files through the engine as fast as they decode (null backend, oldest policy,
    every frame wanted); frames analysed per second, all streams together."""
    pipe = Pipeline()
    for i, f in enumerate(files):
        pipe.add_stream(StreamConfig(
            id=f"f{i}", source=str(f), fps=240, max_latency_ms=60_000, drop_policy="oldest",
            buffer_s=2.0, realtime=False, loop=False, size=size, task=TaskConfig(kind="null"),
            backend=BackendConfig(name="null")))
    t0 = time.perf_counter()
    pipe.start()
    try:
        pipe.wait(timeout_s)
        wall = time.perf_counter() - t0
    finally:
        pipe.stop(drain=True)
    snaps = [h.slot.counters.snapshot() for h in pipe.streams.values()]
    analysed = sum(int(s["analysed"]) for s in snaps)  # type: ignore[call-overload]
    decoded = sum(int(s["frames_in"]) for s in snaps)  # type: ignore[call-overload]
    return {"wall_s": round(wall, 3), "frames_decoded": decoded, "frames_analysed": analysed,
            "fps": round(analysed / wall, 1),
            "dropped": sum(int(s["dropped_total"]) for s in snaps)}  # type: ignore[call-overload]


def _decode_file(path: Path, wh: tuple[int, int], counts: list[int], i: int) -> None:
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        st.thread_type = "AUTO"  # what the engine's file source uses
        for frame in c.decode(st):
            frame.to_ndarray(format="rgb24", width=wh[0], height=wh[1], threads=1)
            counts[i] += 1


def pyav_fps(files: list[Path], size: str) -> dict[str, Any]:
    """The plain loop: one thread per file, decode, convert+resize to RGB, nothing else."""
    wh = parse_size(size)
    assert wh is not None
    counts = [0] * len(files)
    threads = [threading.Thread(target=_decode_file, args=(f, wh, counts, i), daemon=True)
               for i, f in enumerate(files)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 3), "frames_decoded": sum(counts),
            "fps": round(sum(counts) / wall, 1)}


def compare_throughput(files: list[Path], size: str = "640x360", rounds: int = 4,
                       tick: Ticker = no_progress) -> dict[str, Any]:
    """Alternate engine and plain-PyAV runs; the ratio of the medians is the result."""
    for f in files:
        f.read_bytes()
    eng: list[dict[str, Any]] = []
    raw: list[dict[str, Any]] = []
    runs = [(raw, lambda: pyav_fps(files, size)), (eng, lambda: engine_fps(files, size))]
    for k in range(rounds):
        for j, (into, fn) in enumerate(runs if k % 2 == 0 else runs[::-1]):
            tick("throughput", 2 * k + j, 2 * rounds)
            into.append(fn())
    tick("throughput", 2 * rounds, 2 * rounds)
    e = float(np.median([r["fps"] for r in eng]))
    b = float(np.median([r["fps"] for r in raw]))
    return {"files": len(files), "size": size, "rounds": rounds,
            "engine_fps_median": round(e, 1), "pyav_fps_median": round(b, 1),
            "ratio": round(e / b, 3) if b else None, "target_ratio": 0.9,
            "engine_runs": eng, "pyav_runs": raw}
