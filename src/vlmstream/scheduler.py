"""The one place that decides what runs when.

One Scheduler per backend. Its thread polls every stream's sampler, keeps at most one
pending frame per stream, and — whenever the backend is idle — sends a micro-batch of the
most urgent pending frames (earliest deadline first; a stream's deadline is counted from
when it started waiting, so a stream whose pending frame keeps being replaced by a fresher
one cannot starve). The backend runs in a separate worker thread, so neither capture nor
serving ever waits for inference.

Latency stays bounded by construction: a pending frame is replaced, not queued, when a newer
one is due; a frame that could not finish inside its stream's budget is dropped as stale
before it is sent; and when the backend stays saturated, every stream's analysis rate is
scaled down together (degradation) until the load fits, then raised again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vlmstream.backends.base import Backend, BackendError, BackendOverloaded, Task
from vlmstream.buffers import StreamCounters
from vlmstream.frames import Frame, Output, Result, now
from vlmstream.sampling import DropPolicy, Sampler
from vlmstream.temporal import TemporalState

log = logging.getLogger(__name__)


@dataclass(eq=False)
class StreamSlot:
    """The scheduler's view of one stream."""

    stream_id: str
    sampler: Sampler
    task: Task
    temporal: TemporalState
    counters: StreamCounters
    max_latency_s: float
    pending: Frame | None = None
    waiting_since: float | None = None
    last_served: float = 0.0
    in_flight: int = 0

    def deadline(self) -> float:
        assert self.pending is not None
        start = self.pending.arrival_ts
        if self.waiting_since is not None:
            start = min(start, self.waiting_since)
        return start + self.max_latency_s


@dataclass
class _Load:
    """The degradation controller's window: when it started, the worker's busy total at
    that moment, and the frames shed since (superseded + stale)."""

    window_start: float = field(default_factory=now)
    busy_at_start: float = 0.0
    pressure: int = 0


class Scheduler:
    """Micro-batches frames from many streams onto one backend under deadlines."""

    def __init__(self, backend: Backend, *, emit: Callable[[Result], None],
                 on_batch: Callable[[int, float], None] | None = None,
                 max_batch: int | None = None, max_wait_ms: float = 10.0,
                 keep_images: bool = False, min_scale: float = 0.05,
                 wakeup: threading.Event | None = None,
                 on_overload: Callable[[Scheduler, list[StreamSlot]], None] | None = None
                 ) -> None:
        self.backend = backend
        self.max_batch = max(1, max_batch or backend.max_batch)
        self.max_wait_s = max_wait_ms / 1000.0
        self.keep_images = keep_images
        self.min_scale = min_scale
        self._emit = emit
        self._on_batch = on_batch
        self._on_overload = on_overload
        self.wakeup = wakeup or threading.Event()
        self._slots: dict[str, StreamSlot] = {}
        self._lock = threading.Lock()  # guards _slots membership only
        self._busy = threading.Event()
        self._batch: list[tuple[StreamSlot, Frame]] | None = None
        self._work_ready = threading.Condition()
        self._stopping = False
        self._draining = False
        self._exit_worker = False
        self.scale = 1.0
        self._load = _Load()
        self._busy_total_s = 0.0  # written by the worker only, read by the scheduler
        self._est_infer_s = 0.0  # EWMA of batch inference time
        self._thread = threading.Thread(target=self._loop, name=f"sched-{backend.name}",
                                        daemon=True)
        self._worker = threading.Thread(target=self._work_loop, name=f"infer-{backend.name}",
                                        daemon=True)

    # -- membership ----------------------------------------------------------------------
    def add(self, slot: StreamSlot) -> None:
        with self._lock:
            self._slots[slot.stream_id] = slot
        slot.sampler.degrade_scale = self.scale
        self.wakeup.set()

    def remove(self, stream_id: str, *, moving: bool = False) -> StreamSlot | None:
        """Stop scheduling a stream. ``moving``: it goes on under another scheduler, so its
        pending frame is handed over rather than dropped."""
        with self._lock:
            slot = self._slots.pop(stream_id, None)
        if slot is not None and not moving and slot.pending is not None:
            slot.counters.drop("shutdown")
            slot.pending = None
        return slot

    def slots(self) -> list[StreamSlot]:
        with self._lock:
            return list(self._slots.values())

    @property
    def est_infer_ms(self) -> float:
        return self._est_infer_s * 1000.0

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._worker.start()
        self._thread.start()

    def stop(self, *, drain: bool = True, timeout: float = 30.0) -> None:
        """Stop scheduling. With ``drain``, frames already pending and the batch in flight
        are finished and emitted first; nothing already produced is lost."""
        self._draining = drain
        self._stopping = True
        self.wakeup.set()
        self._thread.join(timeout)
        with self._work_ready:
            self._work_ready.notify_all()
        self._worker.join(timeout)

    # -- scheduling loop -----------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            self.wakeup.wait(self._next_timeout())
            self.wakeup.clear()
            t = now()
            slots = self.slots()
            if self._stopping:
                self._finish(slots)
                return
            for s in slots:
                self._refill(s, t)
            self._degrade(t, slots)
            if not self._busy.is_set():
                batch = self._choose(t, slots)
                if batch:
                    self._dispatch(batch)

    def _next_timeout(self) -> float:
        """Sleep until something can change: a held frame falls due, a batch may be full
        enough, or (while busy) the worker finishes. New frames wake us at once anyway."""
        if self._busy.is_set():
            return 0.002
        t = now()
        wait = min(0.02, max(0.001, self.max_wait_s / 2))
        for s in self.slots():
            due = s.sampler.next_due
            if due is not None:
                wait = min(wait, due - t)
        return max(0.0002, wait)

    def _finish(self, slots: list[StreamSlot]) -> None:
        """Drain: send what is pending (in batches) and wait for the worker to finish."""
        self._wait_idle()
        if self._draining:
            t = now()
            for s in slots:
                self._refill(s, t)
            while batch := self._choose(t, slots, force=True):
                self._dispatch(batch)
                self._wait_idle()
        for s in slots:
            if s.pending is not None:
                s.counters.drop("shutdown")
                s.pending = None
        self._exit_worker = True

    def _wait_idle(self) -> None:
        while self._busy.is_set():
            time.sleep(0.002)

    def _refill(self, s: StreamSlot, t: float) -> None:
        sampler = s.sampler
        if sampler.policy is DropPolicy.OLDEST:
            if s.pending is None:
                f = sampler.poll(t)
                if f is not None:
                    s.pending, s.waiting_since = f, t
        else:
            f = sampler.poll(t)
            if f is not None:
                if s.pending is not None:
                    s.counters.drop("superseded")
                    self._load.pressure += 1
                    sampler.feedback(t - s.pending.arrival_ts, superseded=True)
                else:
                    s.waiting_since = t
                s.pending = f
        # A frame that cannot come back inside its budget is not worth the backend's time.
        p = s.pending
        if p is not None and t - p.arrival_ts + self._est_infer_s > s.max_latency_s:
            s.counters.drop("stale")
            self._load.pressure += 1
            s.pending = None
            s.waiting_since = None

    def _choose(self, t: float, slots: list[StreamSlot], *, force: bool = False
                ) -> list[tuple[StreamSlot, Frame]] | None:
        ready = [s for s in slots if s.pending is not None]
        if not ready:
            return None
        ready.sort(key=lambda s: (s.deadline(), s.last_served))
        task = ready[0].task
        group = [s for s in ready if s.task == task][: self.max_batch]
        waited = t - min(s.waiting_since or t for s in group)
        everyone_ready = len(group) >= len([s for s in slots if s.task == task])
        slack = ready[0].deadline() - t - self._est_infer_s
        if not (force or len(group) >= self.max_batch or everyone_ready
                or waited >= self.max_wait_s or slack <= self.max_wait_s):
            return None
        batch: list[tuple[StreamSlot, Frame]] = []
        for s in group:
            f = s.pending
            assert f is not None
            s.pending, s.waiting_since, s.last_served = None, None, t
            f.stages.stamp("scheduled", t)
            s.sampler.dispatched(f)
            s.in_flight += 1
            batch.append((s, f))
        return batch

    def _degrade(self, t: float, slots: list[StreamSlot]) -> None:
        """Every half second: scale all streams' rates down when the backend is saturated
        and frames are being shed; back up when there is room."""
        ld = self._load
        span = t - ld.window_start
        if span < 0.5:
            return
        util = (self._busy_total_s - ld.busy_at_start) / span
        old = self.scale
        if ld.pressure > 0 and util > 0.85:
            self.scale = max(self.min_scale, self.scale * 0.8)
        elif util < 0.6 and ld.pressure == 0:
            self.scale = min(1.0, self.scale + 0.1)
        if self.scale != old:
            for s in slots:
                s.sampler.degrade_scale = self.scale
            log.debug("backend %s utilisation %.0f%%, pressure %d: rate scale %.2f -> %.2f",
                      self.backend.name, util * 100, ld.pressure, old, self.scale)
        self._load = _Load(window_start=t, busy_at_start=self._busy_total_s)

    # -- worker --------------------------------------------------------------------------
    def _dispatch(self, batch: list[tuple[StreamSlot, Frame]]) -> None:
        with self._work_ready:
            self._batch = batch
            self._busy.set()
            self._work_ready.notify()

    def _work_loop(self) -> None:
        while True:
            with self._work_ready:
                while self._batch is None and not self._exit_worker:
                    self._work_ready.wait(0.05)
                batch, self._batch = self._batch, None
            if batch is None:
                return
            try:
                self._run_batch(batch)
            finally:
                self._busy.clear()
                self.wakeup.set()

    def _run_batch(self, batch: list[tuple[StreamSlot, Frame]]) -> None:
        task = batch[0][0].task
        frames = [f for _, f in batch]
        t0 = now()
        for f in frames:
            f.stages.stamp("infer_start", t0)
        try:
            outs = self.backend.infer([f.image for f in frames], task,
                                      [f.previous for f in frames])
            if len(outs) != len(frames):
                raise BackendError(f"backend {self.backend.name} returned {len(outs)} outputs "
                                   f"for {len(frames)} images")
        except Exception as e:  # a backend fault drops this batch, never the pipeline
            log.error("backend %s failed on a batch of %d: %s", self.backend.name, len(frames), e)
            for s, _ in batch:
                s.counters.drop("error")
                s.in_flight -= 1
            if isinstance(e, BackendOverloaded) and self._on_overload is not None:
                self._on_overload(self, [s for s, _ in batch])
            return
        t1 = now()
        dt = t1 - t0
        self._busy_total_s += dt
        self._est_infer_s = dt if self._est_infer_s == 0 else 0.8 * self._est_infer_s + 0.2 * dt
        if self._on_batch is not None:
            self._on_batch(len(frames), dt * 1000.0)
        for (s, f), out in zip(batch, outs, strict=True):
            f.stages.stamp("infer_end", t1)
            self._emit(self._result(s, f, out))
            s.in_flight -= 1
            s.counters.analysed += 1
            s.sampler.feedback(now() - f.arrival_ts, superseded=False)

    def _result(self, s: StreamSlot, f: Frame, out: Output) -> Result:
        raw = out.label
        stable, events = s.temporal.update(f, out)
        out.label = stable
        f.stages.stamp("temporal")
        return Result(stream_id=s.stream_id, seq=f.seq, pts=f.pts, capture_ts=f.capture_ts,
                      arrival_ts=f.arrival_ts, task=s.task.kind, backend=self.backend.name,
                      output=out, stages=f.stages, width=f.width, height=f.height,
                      raw_label=raw, events=events, degraded=s.sampler.degraded,
                      image=f.image if self.keep_images else None)
