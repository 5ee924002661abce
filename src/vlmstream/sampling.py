"""Which frames of a stream are worth analysing: target rate, drop policy, motion gating.

The sampler never blocks: the scheduler polls it and gets a frame or nothing. Frames it
passes over are counted by reason (see ``buffers.DROP_REASONS``).

Policies:
- ``latest``: at each tick of the target rate, analyse the freshest frame; older ones are
  dropped. Lowest latency; what live monitoring wants.
- ``oldest``: take frames in order, subsampled by their pts to the target rate; a backlog
  is worked off in order (bounded by the jitter buffer and the latency budget). For
  counting and offline-like completeness.
- ``adaptive``: like ``latest``, but the stream's rate follows the model: it backs off
  (x0.8) when results come back late relative to the budget and recovers (+5%) when there
  is room, so the backend is not offered frames it would only drop.
"""

from __future__ import annotations

from enum import StrEnum

import cv2
import numpy as np

from vlmstream.buffers import StreamBuffer, StreamCounters
from vlmstream.frames import Frame


class DropPolicy(StrEnum):
    LATEST = "latest"
    OLDEST = "oldest"
    ADAPTIVE = "adaptive"


class MotionGate:
    """Skips frames that look like the last analysed one; flags scene cuts.

    Works on a 32x18-ish grey thumbnail taken with a strided view, so it costs well
    under a millisecond even at 1080p. Thresholds are mean absolute differences in grey
    levels (0-255). ``keepalive_s`` still lets one static frame through now and then so a
    result stream never goes silent.
    """

    def __init__(self, *, static_threshold: float = 1.5, cut_threshold: float = 40.0,
                 keepalive_s: float = 5.0) -> None:
        self.static_threshold = static_threshold
        self.cut_threshold = cut_threshold
        self.keepalive_s = keepalive_s
        self._ref: np.ndarray | None = None  # last analysed
        self._ref_ts = 0.0
        self._seen: np.ndarray | None = None  # last looked at

    @staticmethod
    def thumbnail(img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        step = max(1, min(h, w) // 36)
        small = np.ascontiguousarray(img[::step, ::step])
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        return cv2.resize(gray, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)

    def is_cut(self, frame: Frame) -> bool:
        """Did the picture change wholesale since the last frame we looked at?"""
        th = self.thumbnail(frame.image)
        prev, self._seen = self._seen, th
        return prev is not None and float(np.abs(th - prev).mean()) > self.cut_threshold

    def is_static(self, frame: Frame) -> bool:
        if self._ref is None or frame.arrival_ts - self._ref_ts >= self.keepalive_s:
            return False
        th = self._seen if self._seen is not None else self.thumbnail(frame.image)
        return float(np.abs(th - self._ref).mean()) < self.static_threshold

    def accept(self, frame: Frame) -> None:
        self._ref = self._seen if self._seen is not None else self.thumbnail(frame.image)
        self._ref_ts = frame.arrival_ts


class Sampler:
    """Per-stream selection of frames to analyse. Called only from the scheduler thread."""

    def __init__(self, buffer: StreamBuffer, counters: StreamCounters, *, fps: float,
                 policy: DropPolicy | str = DropPolicy.LATEST, max_latency_ms: float = 500.0,
                 gate: MotionGate | None = None) -> None:
        if fps <= 0:
            raise ValueError(f"target fps must be positive, got {fps}")
        self.buffer = buffer
        self.counters = counters
        self.fps = float(fps)
        self.policy = DropPolicy(policy)
        self.max_latency_s = max_latency_ms / 1000.0
        self.gate = gate
        self.degrade_scale = 1.0  # set by the scheduler when the backend falls behind
        self.adaptive_scale = 1.0  # set by this sampler's own controller (adaptive policy)
        self._latest: Frame | None = None
        self._next_due = 0.0
        self._next_pts: float | None = None
        self._prev_image: np.ndarray | None = None
        self.scene_cut_pending = False

    @property
    def effective_fps(self) -> float:
        return self.fps * min(self.degrade_scale, self.adaptive_scale)

    @property
    def next_due(self) -> float | None:
        """When the frame held for the next tick is taken if nothing fresher arrives
        (None: nothing held). Arrivals wake the scheduler by themselves."""
        return self._next_due if self._latest is not None else None

    @property
    def holds_frame(self) -> bool:
        """A frame taken from the buffer is waiting for its tick (latest/adaptive)."""
        return self._latest is not None

    @property
    def degraded(self) -> bool:
        return self.degrade_scale < 0.999

    def poll(self, now: float) -> Frame | None:
        if self.policy is DropPolicy.OLDEST:
            return self._poll_oldest(now)
        return self._poll_latest(now)

    # -- latest / adaptive -------------------------------------------------------------
    def _poll_latest(self, now: float) -> Frame | None:
        fresh = self.buffer.take_all()
        cut = False
        if fresh:
            skipped = len(fresh) - 1 + (1 if self._latest is not None else 0)
            self.counters.drop("rate", skipped)
            self._latest = fresh[-1]
            if self.gate is not None:
                cut = self.gate.is_cut(self._latest)
        cand = self._latest
        # A frame that arrives up to half a period before its tick is taken on arrival (the
        # tick grid keeps the average rate); one held from before that is only the fallback
        # at the tick itself, when nothing fresher came. So no frame ages waiting for a tick.
        on_time = (bool(fresh) and now >= self._next_due - 0.5 / self.effective_fps) \
            or now >= self._next_due
        if cand is None or not (on_time or cut):
            return None
        self._latest = None
        self._advance_due(now)
        return self._admit(cand, now, cut)

    def _advance_due(self, now: float) -> None:
        period = 1.0 / self.effective_fps
        if now - self._next_due > period:
            self._next_due = now + period
        else:
            self._next_due += period

    # -- oldest ------------------------------------------------------------------------
    def _poll_oldest(self, now: float) -> Frame | None:
        period = 1.0 / self.effective_fps
        while True:
            f = self.buffer.take_oldest()
            if f is None:
                return None
            t = f.pts if f.pts is not None else f.arrival_ts
            cut = self.gate.is_cut(f) if self.gate is not None else False
            if self._next_pts is not None and t < self._next_pts - 1e-6 and not cut:
                self.counters.drop("rate")
                continue
            if now - f.arrival_ts > self.max_latency_s:
                self.counters.drop("stale")
                continue
            admitted = self._admit(f, now, cut)
            if admitted is not None:
                self._next_pts = t + period
                return admitted

    # -- shared ------------------------------------------------------------------------
    def _admit(self, f: Frame, now: float, cut: bool) -> Frame | None:
        if now - f.arrival_ts > self.max_latency_s:
            self.counters.drop("stale")
            return None
        if self.gate is not None and not cut and self.gate.is_static(f):
            self.counters.drop("static")
            return None
        self.scene_cut_pending = self.scene_cut_pending or cut
        f.stages.stamp("sampled", now)
        return f

    def dispatched(self, f: Frame) -> None:
        """The scheduler sent ``f`` to the backend: it becomes the reference picture."""
        f.previous = self._prev_image
        self._prev_image = f.image
        if self.gate is not None:
            self.gate.accept(f)

    def feedback(self, lag_s: float, superseded: bool) -> None:
        """A result came back ``lag_s`` after its frame arrived (adaptive policy only)."""
        if self.policy is not DropPolicy.ADAPTIVE:
            return
        if superseded or lag_s > 0.5 * self.max_latency_s:
            self.adaptive_scale = max(0.05, self.adaptive_scale * 0.8)
        elif lag_s < 0.25 * self.max_latency_s:
            self.adaptive_scale = min(1.0, self.adaptive_scale + 0.05)
