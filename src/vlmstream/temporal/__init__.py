"""Temporal layer: smoothing, hysteresis and events, per stream."""

from __future__ import annotations

from dataclasses import dataclass

from vlmstream.frames import Event, Frame, Output
from vlmstream.temporal.actions import ActionRules
from vlmstream.temporal.events import EventTracker
from vlmstream.temporal.smoothing import Hysteresis, LabelHysteresis, MajorityVote
from vlmstream.temporal.tracking import Geometry, ObjectTracker

__all__ = ["ActionRules", "EventTracker", "Geometry", "Hysteresis", "LabelHysteresis",
           "MajorityVote", "ObjectTracker", "TemporalConfig", "TemporalState"]

# Labels that mean "nothing going on" for the built-in tasks: they open no event.
BACKGROUND_LABELS = frozenset({None, "still", "none", "background", "unknown"})


@dataclass(frozen=True, slots=True)
class TemporalConfig:
    window: int = 5  # majority-vote window (1 = off)
    enter_count: int = 2  # results a new label must win in a row (1 = off)


class TemporalState:
    """One stream's smoothing and event state; updated by the worker in result order.

    With ``track`` (detect/pose tasks) boxes get persistent ids, counts, zone and line
    events; with ``actions`` (pose) tracked people get an action label."""

    def __init__(self, stream_id: str, config: TemporalConfig | None = None, *,
                 track: bool = False, geometry: Geometry | None = None,
                 actions: bool = False) -> None:
        cfg = config or TemporalConfig()
        self.tracker = ObjectTracker(stream_id, geometry) if track else None
        self.actions = ActionRules() if actions else None
        self.vote = MajorityVote(cfg.window)
        self.hyst = LabelHysteresis(cfg.enter_count)
        self.events = EventTracker(stream_id, BACKGROUND_LABELS)
        self.stream_id = stream_id
        self.last_ts = 0.0
        self.last_seq = -1

    def update(self, frame: Frame, output: Output) -> tuple[str | None, list[Event]]:
        """Smooth ``output.label`` and return (stable label, events it caused)."""
        ts = frame.capture_ts if frame.capture_ts is not None else frame.arrival_ts
        self.last_ts, self.last_seq = ts, frame.seq
        events: list[Event] = []
        if self.tracker is not None:
            events += self.tracker.update(output, ts, frame.seq, (frame.width, frame.height))
        if self.actions is not None:
            self.actions.update(output.boxes, ts)
        stable = self.hyst.update(self.vote.update(output.label))
        events += self.events.update(stable, ts, frame.seq)
        if output.extra.get("scene_cut"):
            events.append(Event(self.stream_id, "scene_cut", "instant", start_ts=ts, end_ts=ts,
                                start_seq=frame.seq, end_seq=frame.seq))
        return stable, events

    def close(self) -> list[Event]:
        return self.events.close(self.last_ts, self.last_seq)
