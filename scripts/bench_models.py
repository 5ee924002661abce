#!/usr/bin/env python3
"""Time the builtin ONNX backends (detect, pose, imagenet) on frames of the bundled clip.

Measures whole ``Backend.infer`` calls (pre-processing, model, post-processing), so the
numbers are what the scheduler sees. Prints a Markdown table; ``--json`` for machines.

    .venv/bin/python scripts/bench_models.py --threads 2 --iters 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from importlib import resources

import av
import numpy as np

from vlmstream.backends import Task, create

CASES = [  # backend, options, task, batch sizes
    ("detect", {}, "detect", (1, 4, 8)),
    ("pose", {"size": "256"}, "pose", (1, 4)),
    ("pose", {"size": "512"}, "pose", (1,)),
    ("imagenet", {}, "classify", (1, 8, 16)),
    ("imagenet", {}, "embed", (1, 8)),
]


def clip_frames(n: int) -> list[np.ndarray]:
    with resources.as_file(resources.files("vlmstream") / "data" / "vtest.mp4") as path:
        with av.open(str(path)) as c:
            frames = []
            for f in c.decode(video=0):
                frames.append(f.to_ndarray(format="rgb24"))
                if len(frames) == n:
                    return frames
    return frames


def time_calls(backend, frames, task: Task, iters: int) -> list[float]:
    backend.infer(frames, task)  # warm-up
    out = []
    for _ in range(iters):
        t = time.perf_counter()
        backend.infer(frames, task)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    frames = clip_frames(16)
    rows = []
    for name, opts, kind, batches in CASES:
        backend = create(name, threads=str(args.threads), **opts)
        for b in batches:
            calls = time_calls(backend, frames[:b], Task(kind), max(3, args.iters // b))
            med = statistics.median(calls)
            rows.append({"backend": name, "options": opts, "task": kind, "batch": b,
                         "ms_per_call": med * 1e3, "ms_per_frame": med * 1e3 / b,
                         "frames_per_s": b / med})
        backend.close()
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"| backend | options | task | batch | ms/call | ms/frame | frames/s |  "
          f"(threads={args.threads}, 768x576 frames, median of calls)")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        opts = ",".join(f"{k}={v}" for k, v in r["options"].items()) or "-"
        print(f"| {r['backend']} | {opts} | {r['task']} | {r['batch']} | {r['ms_per_call']:.1f} "
              f"| {r['ms_per_frame']:.1f} | {r['frames_per_s']:.1f} |")


if __name__ == "__main__":
    main()
