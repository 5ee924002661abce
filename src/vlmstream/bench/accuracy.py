"""Streaming accuracy: what analysing a clip live, under load, loses against analysing every
frame of it offline.

The reference decodes every frame, calls the backend on each with no deadline, and runs the
same temporal layer (smoothing, events). The live run plays the same file in real time
through the engine beside ``load_streams`` other streams. Both name results by the clip's
decode index (``seq``), so they line up frame by frame. Scores come from scikit-learn
(event precision/recall/F1, label agreement) and supervision (detection mAP).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vlmstream.backends import Task, create
from vlmstream.bench.harness import Ticker, no_progress
from vlmstream.bench.scenario import Scenario
from vlmstream.config import StreamConfig, TemporalSettings
from vlmstream.frames import Box, Event, Frame, Result, now
from vlmstream.pipeline import Pipeline
from vlmstream.sources import create_source
from vlmstream.temporal import TemporalConfig, TemporalState

CLIP_ID = "clip"
# Tasks whose boxes are detections of classes (mAP applies); motion boxes are not.
DETECTION_TASKS = frozenset({"detect", "pose", "track"})


@dataclass
class Labelled:
    """One analysed frame of the clip."""

    raw: str | None
    label: str | None  # after smoothing
    boxes: list[Box] = field(default_factory=list)


@dataclass
class ClipRun:
    """What one way of analysing the clip produced, keyed by the clip's frame index."""

    frames: dict[int, Labelled]
    events: list[Event]
    n_frames: int
    fps: float

    def held(self, n: int) -> list[Labelled | None]:
        """For each of the clip's ``n`` frames, the result in effect when it was shown:
        the latest analysed frame at or before it (None before the first)."""
        out: list[Labelled | None] = []
        cur = None
        for i in range(n):
            cur = self.frames.get(i, cur)
            out.append(cur)
        return out


def _task(sc: Scenario) -> Task:
    return Task(sc.task.kind, tuple(sc.task.labels), sc.task.prompt)


def reference(clip: str, sc: Scenario, tick: Ticker = no_progress) -> ClipRun:
    """Every frame, in order, no deadline: the best the backend can do on this clip."""
    backend = create(sc.backend.name, **sc.backend.options)
    src = create_source(clip, realtime=False, loop=False, size=sc.size)
    info = src.open()
    fps = info.fps or 25.0
    total = (info.duration_s or 0.0)
    ts = TemporalSettings()
    temporal = TemporalState(CLIP_ID, TemporalConfig(ts.window, ts.enter_count))
    task = _task(sc)
    frames: dict[int, Labelled] = {}
    events: list[Event] = []
    prev = None
    try:
        for i, d in enumerate(src.frames()):
            out = backend.infer([d.image], task, [prev])[0]
            prev = d.image
            raw = out.label
            stable, evs = temporal.update(Frame(CLIP_ID, i, d.image, d.pts, now()), out)
            frames[i] = Labelled(raw, stable, list(out.boxes))
            events += evs
            if d.pts is not None:
                tick("offline reference", d.pts, total)
    finally:
        src.close()
        backend.close()
    return ClipRun(frames, events, len(frames), fps)


def live(clip: str, sc: Scenario, tick: Ticker = no_progress, timeout_s: float = 600.0
         ) -> ClipRun:
    """The clip played in real time through the engine, beside the scenario's load."""
    sc.seed_everything()
    pipe = Pipeline(temporal=TemporalSettings())
    results: list[Result] = []
    lock = threading.Lock()

    def keep(r: Result) -> None:
        if r.stream_id == CLIP_ID:
            with lock:
                results.append(r)

    pipe.subscribe(keep)
    clip_cfg = StreamConfig(id=CLIP_ID, source=clip, fps=sc.fps, max_latency_ms=sc.max_latency_ms,
                            drop_policy=sc.drop_policy, buffer_s=sc.buffer_s, realtime=True,
                            loop=False, size=sc.size, task=sc.task, backend=sc.backend)
    handle = pipe.add_stream(clip_cfg)
    for cfg in sc.stream_configs(sc.accuracy.load_streams):
        pipe.add_stream(cfg)
    pipe.start()
    t0 = now()
    try:
        while not (handle.ingest.done and not len(handle.ingest.buffer)
                   and handle.slot.pending is None and not handle.slot.in_flight
                   and not handle.slot.sampler.holds_frame):
            if now() - t0 > timeout_s:
                raise TimeoutError(f"live run of {clip} did not finish in {timeout_s:g} s")
            info = handle.ingest.info
            tick(f"live x{1 + sc.accuracy.load_streams}", now() - t0,
                 (info.duration_s or 0.0) if info else 0.0)
            threading.Event().wait(0.1)
    finally:
        pipe.stop(drain=True)
    if handle.ingest.last_error:
        raise RuntimeError(f"clip {clip}: {handle.ingest.last_error}")
    info = handle.ingest.info
    fps = (info.fps if info and info.fps else 25.0)
    frames = {r.seq: Labelled(r.raw_label, r.output.label, list(r.output.boxes)) for r in results}
    events = [e for r in sorted(results, key=lambda r: r.seq) for e in r.events]
    return ClipRun(frames, events, handle.ingest.frames, fps)


# -- scores ------------------------------------------------------------------------------
def _event_seq(e: Event) -> int:
    seq = e.end_seq if e.state == "end" else e.start_seq
    return -1 if seq is None else int(seq)


def match_events(ref: Sequence[Event], got: Sequence[Event], tolerance_frames: float
                 ) -> tuple[int, int, int]:
    """Pair events of the same kind and state, nearest first, at most ``tolerance_frames``
    apart; returns (matched, missed reference events, spurious live events)."""
    matched = 0
    keys = {(e.kind, e.state) for e in [*ref, *got]}
    for key in keys:
        r = [_event_seq(e) for e in ref if (e.kind, e.state) == key]
        g = [_event_seq(e) for e in got if (e.kind, e.state) == key]
        pairs = sorted((abs(a - b), i, j) for i, a in enumerate(r) for j, b in enumerate(g)
                       if abs(a - b) <= tolerance_frames)
        used_r: set[int] = set()
        used_g: set[int] = set()
        for _, i, j in pairs:
            if i not in used_r and j not in used_g:
                used_r.add(i)
                used_g.add(j)
                matched += 1
    return matched, len(ref) - matched, len(got) - matched


def event_scores(ref: Sequence[Event], got: Sequence[Event], tolerance_frames: float
                 ) -> dict[str, Any]:
    from sklearn.metrics import precision_recall_fscore_support

    tp, fn, fp = match_events(ref, got, tolerance_frames)
    y_true = [1] * tp + [1] * fn + [0] * fp
    y_pred = [1] * tp + [0] * fn + [1] * fp
    if not y_true:
        return {"reference_events": 0, "live_events": 0, "matched": 0, "precision": None,
                "recall": None, "f1": None}
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="binary",
                                                 zero_division=0)
    return {"reference_events": len(ref), "live_events": len(got), "matched": tp,
            "precision": round(float(p), 4), "recall": round(float(r), 4),
            "f1": round(float(f), 4)}


def agreement(ref: Iterable[str | None], got: Iterable[str | None]) -> float | None:
    """Share of frames whose labels agree (top-1 agreement)."""
    from sklearn.metrics import accuracy_score

    a = ["" if x is None else x for x in ref]
    b = ["" if x is None else x for x in got]
    return round(float(accuracy_score(a, b)), 4) if a else None


def flicker_per_min(labels: Sequence[str | None], seconds: float) -> float | None:
    """Label changes per minute along a sequence of results."""
    if seconds <= 0 or len(labels) < 2:
        return None
    changes = sum(1 for a, b in zip(labels, labels[1:], strict=False) if a != b)
    return round(changes * 60.0 / seconds, 2)


def _detections(boxes: Sequence[Box], *, with_scores: bool) -> Any:
    import supervision as sv

    if not boxes:
        return sv.Detections.empty()
    return sv.Detections(
        xyxy=np.asarray([[b.x1, b.y1, b.x2, b.y2] for b in boxes], dtype=np.float32),
        class_id=np.asarray([b.class_id if b.class_id is not None else 0 for b in boxes],
                            dtype=int),
        confidence=(np.asarray([b.score for b in boxes], dtype=np.float32)
                    if with_scores else None))


def detection_map(ref: Sequence[Sequence[Box]], got: Sequence[Sequence[Box]]) -> dict[str, Any]:
    """COCO-style mAP of ``got`` (predictions) against ``ref`` (targets), frame by frame,
    with supervision's MeanAveragePrecision."""
    from supervision.metrics import MeanAveragePrecision

    m = MeanAveragePrecision()
    m.update([_detections(g, with_scores=True) for g in got],
             [_detections(r, with_scores=False) for r in ref])
    res = m.compute()
    return {"map50_95": round(float(res.map50_95), 4), "map50": round(float(res.map50), 4),
            "frames": len(ref)}


def compare(ref: ClipRun, got: ClipRun, *, task: str, tolerance_s: float) -> dict[str, Any]:
    """Every score of the live run against the reference."""
    n = ref.n_frames
    seconds = n / ref.fps
    analysed = sorted(s for s in got.frames if s in ref.frames)
    held = got.held(n)
    shown = [h.label if h is not None else None for h in held]
    out: dict[str, Any] = {
        "clip_frames": n, "clip_seconds": round(seconds, 3),
        "live_analysed_frames": len(got.frames),
        "live_analysed_share": round(len(got.frames) / n, 4) if n else None,
        "events": event_scores(ref.events, got.events, tolerance_s * ref.fps),
        "top1_agreement": {
            "analysed_frames_raw": agreement([ref.frames[s].raw for s in analysed],
                                             [got.frames[s].raw for s in analysed]),
            "every_frame_held": agreement([ref.frames[i].label for i in range(n)], shown),
        },
        "flicker_per_min": {
            "reference_raw": flicker_per_min([f.raw for _, f in sorted(ref.frames.items())], seconds),
            "reference_smoothed": flicker_per_min([f.label for _, f in sorted(ref.frames.items())],
                                                  seconds),
            "live_raw": flicker_per_min([f.raw for _, f in sorted(got.frames.items())], seconds),
            "live_smoothed": flicker_per_min([f.label for _, f in sorted(got.frames.items())],
                                             seconds),
        },
    }
    if task in DETECTION_TASKS:
        out["detection_map"] = {
            "analysed_frames": detection_map([ref.frames[s].boxes for s in analysed],
                                             [got.frames[s].boxes for s in analysed]),
            "every_frame_held": detection_map([ref.frames[i].boxes for i in range(n)],
                                              [h.boxes if h else [] for h in held]),
        }
    return out


def run_accuracy(clip: str, sc: Scenario, tick: Ticker = no_progress) -> dict[str, Any]:
    """Reference, then live under load, then the scores."""
    ref = reference(clip, sc, tick)
    got = live(clip, sc, tick)
    return {"clip": clip, "backend": sc.backend.name, "task": sc.task.kind, "target_fps": sc.fps,
            "load_streams": sc.accuracy.load_streams, "budget_ms": sc.max_latency_ms,
            **compare(ref, got, task=sc.task.kind, tolerance_s=sc.accuracy.event_tolerance_s)}
