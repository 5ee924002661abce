"""Per-stream jitter buffer with a latest-frame view, and the counters every stage shares.

The decode thread only ever appends; the scheduler thread takes. The lock is held just to
move references, never across decoding or inference.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from dataclasses import dataclass, field

from vlmstream.frames import Frame

# Why a frame was not analysed. "rate" is by design (target FPS below source FPS);
# the others say the system shed load or the frame was not worth analysing.
DROP_REASONS = ("rate", "static", "stale", "overflow", "superseded", "error", "shutdown")


@dataclass
class StreamCounters:
    """Frames in, analysed, and dropped by reason, for one stream."""

    frames_in: int = 0
    analysed: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def drop(self, reason: str, n: int = 1) -> None:
        if reason not in DROP_REASONS:
            raise ValueError(f"unknown drop reason {reason!r}; add it to DROP_REASONS")
        if n:
            with self._lock:
                self.dropped[reason] += n

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"frames_in": self.frames_in, "analysed": self.analysed,
                    "dropped": dict(self.dropped), "dropped_total": sum(self.dropped.values())}


class StreamBuffer:
    """Bounded FIFO of decoded frames holding about ``seconds`` of video (0-2 s).

    When full the oldest frame is dropped (counted as ``overflow``): a slow consumer can
    never make the buffer, or latency, grow without bound. ``wakeup`` is set on every put
    so the scheduler reacts to new frames at once instead of polling.

    ``block_when_full`` is for sources that are not live (a file read as fast as possible):
    there the producer waits for room instead, so no frame is lost to a slow model.
    """

    MAX_SECONDS = 2.0

    def __init__(self, counters: StreamCounters, *, seconds: float = 1.0, fps: float = 30.0,
                 wakeup: threading.Event | None = None, block_when_full: bool = False) -> None:
        if not 0.0 <= seconds <= self.MAX_SECONDS:
            raise ValueError(f"jitter buffer must hold 0-{self.MAX_SECONDS:g} s, got {seconds:g}")
        self.capacity = max(1, math.ceil(seconds * max(fps, 1.0)))
        self.counters = counters
        self._q: deque[Frame] = deque()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._wakeup = wakeup
        self.block_when_full = block_when_full
        self.closed = False

    def put(self, frame: Frame) -> None:
        with self._lock:
            while self.block_when_full and len(self._q) >= self.capacity and not self.closed:
                self._room.wait(0.1)
            self.counters.frames_in += 1
            self._q.append(frame)
            overflow = len(self._q) - self.capacity
            for _ in range(max(0, overflow)):
                self._q.popleft()
        if overflow > 0:
            self.counters.drop("overflow", overflow)
        if self._wakeup is not None:
            self._wakeup.set()

    def set_wakeup(self, wakeup: threading.Event) -> None:
        """Wake a different scheduler from now on (the stream moved backends)."""
        self._wakeup = wakeup
        wakeup.set()

    def take_all(self) -> list[Frame]:
        """Everything buffered, oldest first, leaving the buffer empty."""
        with self._lock:
            out = list(self._q)
            self._q.clear()
            self._room.notify_all()
        return out

    def take_oldest(self) -> Frame | None:
        with self._lock:
            f = self._q.popleft() if self._q else None
            self._room.notify_all()
            return f

    def peek_latest(self) -> Frame | None:
        """The newest frame without taking it (what a viewer would show now)."""
        with self._lock:
            return self._q[-1] if self._q else None

    def peek_oldest(self) -> Frame | None:
        with self._lock:
            return self._q[0] if self._q else None

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._room.notify_all()
        if self._wakeup is not None:
            self._wakeup.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._q)
