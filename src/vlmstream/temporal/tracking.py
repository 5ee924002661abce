"""Persistent object identities across frames, counts, zone occupancy and line crossings.

Tracking is per stream and happens after the backend, so detectors stay stateless and can
be batched across streams. The association itself is ByteTrack from the ``trackers``
library (Kalman-filtered, two-stage IoU matching); zones and lines are supervision's
``PolygonZone`` and ``LineZone``. Geometry is given in pixels of the analysed picture, or as
fractions of its width and height when every coordinate is at most 1.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vlmstream.config import ConfigError
from vlmstream.frames import Box, Event, Output


@dataclass(frozen=True, slots=True)
class Geometry:
    """Named counting zones (polygons) and lines for one stream."""

    zones: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    lines: dict[str, tuple[tuple[float, float], tuple[float, float]]] = field(default_factory=dict)


def _to_pixels(points: list[tuple[float, float]] | tuple[tuple[float, float], ...], w: int,
               h: int) -> np.ndarray:
    a = np.asarray(points, dtype=np.float64)
    if a.size and a.max() <= 1.0:
        a = a * np.array([w, h])
    return a


class ObjectTracker:
    """Gives every box of a detect/pose output a stable ``track_id`` and keeps counts.

    Adds to ``Output.extra``: ``counts`` (objects per class in this frame), ``unique``
    (distinct tracks seen so far per class), ``zones`` (occupancy per zone), ``lines``
    (in/out totals per line). Emits ``line_cross`` events, and ``zone`` start/end events
    when a zone becomes occupied / empty.
    """

    def __init__(self, stream_id: str, geometry: Geometry | None = None, *,
                 lost_after_s: float = 1.0, activation: float = 0.4, min_iou: float = 0.1) -> None:
        try:
            from trackers import ByteTrackTracker
        except ImportError:
            raise ConfigError("tracking needs the trackers package: pip install "
                              "'vlmstream[track]' && pip install --no-deps trackers==2.6.1 "
                              "(or set task.track: false)") from None

        self.stream_id = stream_id
        self.geometry = geometry or Geometry()
        # Timestamps drive the Kalman step, so an uneven analysis rate (drops, degradation)
        # does not confuse the motion model.
        self._tracker = ByteTrackTracker(lost_track_buffer=max(1, int(lost_after_s * 30)),
                                         frame_rate=30.0, track_activation_threshold=activation,
                                         minimum_consecutive_frames=2,
                                         minimum_iou_threshold=min_iou,
                                         high_conf_det_threshold=max(activation, 0.5))
        self._seen: dict[str, set[int]] = {}
        self._zones: dict[str, Any] | None = None
        self._lines: dict[str, Any] | None = None
        self._occupied: dict[str, Event] = {}

    def _build_geometry(self, w: int, h: int) -> None:
        import supervision as sv

        self._zones = {name: sv.PolygonZone(_to_pixels(pts, w, h).round().astype(np.int64))
                       for name, pts in self.geometry.zones.items()}
        self._lines = {}
        for name, (p1, p2) in self.geometry.lines.items():
            (x1, y1), (x2, y2) = _to_pixels([p1, p2], w, h)
            self._lines[name] = sv.LineZone(start=sv.Point(x1, y1), end=sv.Point(x2, y2),
                                            triggering_anchors=(sv.Position.BOTTOM_CENTER,))

    def update(self, output: Output, ts: float, seq: int, size: tuple[int, int]) -> list[Event]:
        import supervision as sv

        if self._zones is None:
            self._build_geometry(*size)
        assert self._zones is not None and self._lines is not None
        boxes = output.boxes
        dets = sv.Detections(
            xyxy=np.array([[b.x1, b.y1, b.x2, b.y2] for b in boxes], dtype=np.float32).reshape(-1, 4),
            confidence=np.array([b.score for b in boxes], dtype=np.float32),
            class_id=np.array([b.class_id if b.class_id is not None else -1 for b in boxes],
                              dtype=int),
            data={"idx": np.arange(len(boxes))})
        tracked = self._tracker.update(dets, timestamp=ts)
        out_boxes: list[Box] = []
        for i, tid in zip(tracked.data.get("idx", []), tracked.tracker_id, strict=False):
            b = boxes[int(i)]
            if tid is not None and int(tid) >= 0:
                b.track_id = int(tid)
                self._seen.setdefault(b.label or "object", set()).add(int(tid))
            out_boxes.append(b)
        # Unconfirmed detections keep their place (without an id) so nothing seen is hidden.
        kept = {int(i) for i in tracked.data.get("idx", [])}
        out_boxes += [b for i, b in enumerate(boxes) if i not in kept]
        output.boxes = out_boxes
        output.extra["counts"] = dict(Counter(b.label or "object" for b in out_boxes))
        output.extra["unique"] = {k: len(v) for k, v in self._seen.items()}
        return self._geometry_events(tracked, output, ts, seq)

    def _geometry_events(self, tracked: Any, output: Output, ts: float, seq: int) -> list[Event]:
        assert self._zones is not None and self._lines is not None
        events: list[Event] = []
        if self._zones:
            occ = {}
            for name, zone in self._zones.items():
                inside = zone.trigger(tracked) if len(tracked) else np.zeros(0, bool)
                occ[name] = int(np.count_nonzero(inside))
                if occ[name] and name not in self._occupied:
                    self._occupied[name] = Event(self.stream_id, f"zone:{name}", "start",
                                                 start_ts=ts, start_seq=seq)
                    events.append(self._occupied[name])
                elif not occ[name] and name in self._occupied:
                    o = self._occupied.pop(name)
                    events.append(Event(self.stream_id, o.kind, "end", start_ts=o.start_ts,
                                        end_ts=ts, start_seq=o.start_seq, end_seq=seq))
            output.extra["zones"] = occ
        if self._lines:
            totals = {}
            for name, line in self._lines.items():
                if len(tracked):
                    crossed_in, crossed_out = line.trigger(tracked)
                    for direction, mask in (("in", crossed_in), ("out", crossed_out)):
                        for tid in np.asarray(tracked.tracker_id)[mask]:
                            events.append(Event(self.stream_id, "line_cross", "instant",
                                                start_ts=ts, end_ts=ts, start_seq=seq,
                                                end_seq=seq, data={"line": name,
                                                                   "direction": direction,
                                                                   "track_id": int(tid)}))
                totals[name] = {"in": int(line.in_count), "out": int(line.out_count)}
            output.extra["lines"] = totals
        return events
