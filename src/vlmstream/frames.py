"""The typed objects every stage passes on: Frame in, Output from a backend, Result out.

Every frame carries its own clock from capture to sink. Times are wall-clock seconds
(``time.time()``) so that a source's own capture clock (RTSP sender reports, a timestamp
drawn into a synthetic frame) can be compared with ours.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Stage names in pipeline order; StageTimes keeps whichever were stamped.
STAGES = ("arrival", "sampled", "scheduled", "infer_start", "infer_end", "temporal", "sink")


def now() -> float:
    """The one clock every stage stamps with."""
    return time.time()


@dataclass(slots=True)
class StageTimes:
    """When a frame reached each stage (wall seconds); missing stages are simply absent."""

    times: dict[str, float] = field(default_factory=dict)

    def stamp(self, stage: str, ts: float | None = None) -> float:
        t = now() if ts is None else ts
        self.times[stage] = t
        return t

    def get(self, stage: str) -> float | None:
        return self.times.get(stage)

    def durations_ms(self) -> dict[str, float]:
        """Time spent between consecutive stamped stages, named by the stage reached."""
        out: dict[str, float] = {}
        prev: float | None = None
        for name in STAGES:
            t = self.times.get(name)
            if t is None:
                continue
            if prev is not None:
                out[name] = (t - prev) * 1000.0
            prev = t
        return out

    def copy(self) -> StageTimes:
        return StageTimes(dict(self.times))


@dataclass(slots=True)
class Frame:
    """One decoded picture of one stream.

    ``seq`` increases strictly per stream in decode order; ``pts`` is the source's own
    presentation time in seconds; ``capture_ts`` is the wall clock at which the source
    produced the picture, when the source tells us (else None); ``arrival_ts`` is when
    we finished decoding it.
    """

    stream_id: str
    seq: int
    image: np.ndarray  # HxWx3 uint8, RGB
    pts: float | None
    arrival_ts: float
    capture_ts: float | None = None
    stages: StageTimes = field(default_factory=StageTimes)
    # The stream's previously analysed picture, attached by the sampler for backends that
    # compare two pictures (motion). Backends never learn which stream it came from.
    previous: np.ndarray | None = None

    def __post_init__(self) -> None:
        if "arrival" not in self.stages.times:
            self.stages.stamp("arrival", self.arrival_ts)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(slots=True)
class Box:
    """An axis-aligned box in pixels of the analysed frame, with optional class and track."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float = 1.0
    label: str | None = None
    class_id: int | None = None
    track_id: int | None = None
    # (x, y, score) per keypoint, in pixels, for pose models (COCO-17 order).
    keypoints: list[tuple[float, float, float]] | None = None
    action: str | None = None  # e.g. standing / walking / running / lying, from the temporal layer

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "xyxy": [round(self.x1, 1), round(self.y1, 1), round(self.x2, 1), round(self.y2, 1)],
            "score": round(float(self.score), 4),
        }
        if self.label is not None:
            d["label"] = self.label
        if self.class_id is not None:
            d["class_id"] = int(self.class_id)
        if self.track_id is not None:
            d["track_id"] = int(self.track_id)
        if self.keypoints is not None:
            d["keypoints"] = [[round(x, 1), round(y, 1), round(c, 3)] for x, y, c in self.keypoints]
        if self.action is not None:
            d["action"] = self.action
        return d


@dataclass(slots=True)
class Output:
    """What a backend says about one image. Fields a task does not produce stay empty."""

    label: str | None = None
    score: float | None = None
    scores: dict[str, float] | None = None
    boxes: list[Box] = field(default_factory=list)
    text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Event:
    """A state change on one stream: ``kind`` entered at ``start_ts``, left at ``end_ts``."""

    stream_id: str
    kind: str
    state: str  # "start" or "end" (or "instant" for one-off events such as scene cuts)
    start_ts: float
    end_ts: float | None = None
    start_seq: int | None = None
    end_seq: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "stream_id": self.stream_id,
            "kind": self.kind,
            "state": self.state,
            "start_ts": round(self.start_ts, 6),
            "end_ts": None if self.end_ts is None else round(self.end_ts, 6),
            "start_seq": self.start_seq,
            "end_seq": self.end_seq,
        }
        if self.end_ts is not None:
            d["duration_s"] = round(self.end_ts - self.start_ts, 3)
        if self.data:
            d["data"] = self.data
        return d


@dataclass(slots=True)
class Result:
    """A backend's output for exactly one frame, after temporal smoothing."""

    stream_id: str
    seq: int
    pts: float | None
    capture_ts: float | None
    arrival_ts: float
    task: str
    backend: str
    output: Output
    stages: StageTimes
    width: int
    height: int
    raw_label: str | None = None  # the backend's label before smoothing
    events: list[Event] = field(default_factory=list)
    degraded: bool = False
    image: np.ndarray | None = None  # kept only when a sink asked for pictures

    @property
    def latency_ms(self) -> float | None:
        """End to end: sink stamp minus arrival (decode finished)."""
        sink = self.stages.get("sink")
        return None if sink is None else (sink - self.arrival_ts) * 1000.0

    def to_dict(self) -> dict[str, Any]:
        o = self.output
        d: dict[str, Any] = {
            "stream_id": self.stream_id,
            "seq": self.seq,
            "pts": None if self.pts is None else round(self.pts, 6),
            "capture_ts": None if self.capture_ts is None else round(self.capture_ts, 6),
            "arrival_ts": round(self.arrival_ts, 6),
            "task": self.task,
            "backend": self.backend,
            "width": self.width,
            "height": self.height,
            "label": o.label,
            "raw_label": self.raw_label,
            "score": None if o.score is None else round(float(o.score), 4),
        }
        if o.scores:
            d["scores"] = {k: round(float(v), 4) for k, v in o.scores.items()}
        if o.boxes:
            d["boxes"] = [b.to_dict() for b in o.boxes]
        if o.text is not None:
            d["text"] = o.text
        if o.extra:
            d["extra"] = o.extra
        d["events"] = [e.to_dict() for e in self.events]
        d["degraded"] = self.degraded
        d["stages_ms"] = {k: round(v, 3) for k, v in self.stages.durations_ms().items()}
        lat = self.latency_ms
        d["latency_ms"] = None if lat is None else round(lat, 3)
        return d
