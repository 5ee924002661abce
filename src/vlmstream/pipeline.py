"""The engine: streams in, results out. Wires Source -> Buffer -> Sampler -> Scheduler ->
Backend -> Temporal -> Sinks, and lets streams come and go while it runs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from vlmstream.backends import Backend, BackendError, Task, create
from vlmstream.buffers import StreamBuffer, StreamCounters
from vlmstream.config import BackendConfig, StreamConfig, TemporalSettings
from vlmstream.frames import Event, Result, now
from vlmstream.metrics import Metrics
from vlmstream.privacy import Anonymizer
from vlmstream.sampling import MotionGate, Sampler
from vlmstream.scheduler import Scheduler, StreamSlot
from vlmstream.sinks.base import Sink
from vlmstream.sources import create_source
from vlmstream.sources.ingest import Ingest, ReconnectPolicy, StreamState
from vlmstream.temporal import Geometry, TemporalConfig, TemporalState

log = logging.getLogger(__name__)

TRACKED_TASKS = frozenset({"detect", "pose"})


def check_task(backend: Backend, task: Task) -> None:
    """Refuse a stream whose task its backend cannot do (or whose labels it cannot see)
    when it is added, with one message, rather than failing on every batch later."""
    if task.kind not in backend.tasks:
        raise BackendError(f"backend {backend.name} does not do task {task.kind!r}; it does: "
                           f"{', '.join(sorted(backend.tasks))} (give --task)")
    validate = getattr(backend, "validate", None)
    if validate is not None:
        validate(task)


@dataclass(eq=False)
class StreamHandle:
    """Everything the pipeline holds for one stream."""

    config: StreamConfig
    ingest: Ingest
    slot: StreamSlot
    scheduler: Scheduler
    primary: Scheduler | None = None  # set while the stream runs on its fallback backend
    fallback_until: float = 0.0

    @property
    def id(self) -> str:
        assert self.config.id is not None
        return self.config.id

    def status(self, metrics: Metrics) -> dict[str, Any]:
        ing = self.ingest
        info = ing.info
        return {
            "id": self.id,
            "state": ing.state.value,
            "last_error": ing.last_error,
            "target_fps": self.config.fps,
            "effective_fps": round(self.slot.sampler.effective_fps, 3),
            "degraded": self.slot.sampler.degraded,
            "buffered": len(ing.buffer),
            "ingest": ing.snapshot(),
            "source": None if info is None else {
                "codec": info.codec, "width": info.width, "height": info.height,
                "fps": info.fps, "live": info.live, "decoder": info.decoder},
            **self.slot.counters.snapshot(),
            **metrics.stream_summary(self.id),
        }


class Pipeline:
    """Owns the streams, one scheduler per distinct backend, the sinks and the metrics."""

    def __init__(self, sinks: Iterable[Sink] = (), *, temporal: TemporalSettings | None = None,
                 metrics: Metrics | None = None, anonymize: bool = False) -> None:
        self.sinks = list(sinks)
        self.temporal = temporal or TemporalSettings()
        self.metrics = metrics or Metrics()
        self.streams: dict[str, StreamHandle] = {}
        self._schedulers: dict[str, Scheduler] = {}
        self._lock = threading.Lock()
        self._listeners: list[tuple[Callable[[Result], None], bool]] = []
        self._keep_images = any(s.needs_images for s in self.sinks)
        self._started = False
        self._stopped = False
        self.anonymizer = Anonymizer() if anonymize else None
        self.release_after_s = 30.0
        self._supervisor = threading.Thread(target=self._supervise, name="supervisor",
                                            daemon=True)
        self._idle_since: dict[str, float] = {}

    # -- results -------------------------------------------------------------------------
    def subscribe(self, fn: Callable[[Result], None], *, images: bool = False) -> None:
        """Call ``fn`` for every result (from the inference worker: it must not block).
        ``images``: ``fn`` needs the analysed picture on the result."""
        self._listeners.append((fn, images))
        if images and not self._keep_images:
            self._keep_images = True
            for sch in self._schedulers.values():
                sch.keep_images = True

    def _emit(self, r: Result) -> None:
        if self.anonymizer is not None:
            self.anonymizer.apply(r)
        r.stages.stamp("sink")
        self.metrics.observe(r)
        # Consumers that do not draw get the result without its picture, so a backed-up
        # queue of them holds results, not frames.
        lean = r if r.image is None else dataclasses.replace(r, image=None)
        for s in self.sinks:
            s.publish(r if s.needs_images else lean)
        for fn, images in self._listeners:
            fn(r if images else lean)

    def _emit_events(self, events: list[Event]) -> None:
        for e in events:
            for s in self.sinks:
                s.publish(e)

    # -- backends ------------------------------------------------------------------------
    def _scheduler_for(self, bc: BackendConfig) -> Scheduler:
        key = json.dumps([bc.name, bc.options, bc.max_batch, bc.max_wait_ms], sort_keys=True,
                         default=str)
        sch = self._schedulers.get(key)
        if sch is None:
            backend: Backend = create(bc.name, **bc.options)
            sch = Scheduler(backend, emit=self._emit, on_batch=self.metrics.observe_batch,
                            max_batch=bc.max_batch, max_wait_ms=bc.max_wait_ms,
                            keep_images=self._keep_images, on_overload=self._overloaded)
            self._schedulers[key] = sch
            if self._started:
                sch.start()
        return sch

    # -- streams -------------------------------------------------------------------------
    def add_stream(self, cfg: StreamConfig) -> StreamHandle:
        """Start ingesting and analysing one stream; the others are not disturbed.

        Raises BackendError when the stream's backend cannot be built, ValueError for a
        duplicate id. Source problems do not raise: they show in the stream's state."""
        assert cfg.id is not None and cfg.task is not None and cfg.backend is not None
        with self._lock:
            if cfg.id in self.streams:
                raise ValueError(f"stream id {cfg.id!r} already exists")
            sch = self._scheduler_for(cfg.backend)
            # A file read as fast as possible with `oldest` is offline work: every frame is
            # wanted and its decode time says nothing about staleness, so there is no budget.
            offline = not cfg.realtime and cfg.drop_policy == "oldest"
            budget_ms = math.inf if offline else cfg.max_latency_ms
            counters = StreamCounters()
            buf = StreamBuffer(counters, seconds=cfg.buffer_s, fps=max(cfg.fps, 30.0),
                               wakeup=sch.wakeup,
                               block_when_full=offline)
            sampler = Sampler(buf, counters, fps=cfg.fps, policy=cfg.drop_policy,
                              max_latency_ms=budget_ms,
                              gate=MotionGate() if cfg.gate else None)
            task = Task(cfg.task.kind, tuple(cfg.task.labels), cfg.task.prompt)
            check_task(sch.backend, task)
            tracked = cfg.task.track and cfg.task.kind in TRACKED_TASKS
            temporal = TemporalState(
                cfg.id, TemporalConfig(self.temporal.window, self.temporal.enter_count),
                track=tracked, geometry=Geometry(dict(cfg.zones), dict(cfg.lines)),
                actions=tracked and cfg.task.kind == "pose")
            slot = StreamSlot(cfg.id, sampler, task, temporal, counters,
                              max_latency_s=budget_ms / 1000.0)

            policy, source_options = ReconnectPolicy.split(cfg.options)

            def make_source(c: StreamConfig = cfg) -> Any:
                return create_source(c.source, realtime=c.realtime, loop=c.loop, size=c.size,
                                     **source_options)

            ingest = Ingest(cfg.id, make_source, buf, on_state=self._on_state,
                            on_event=lambda e: self._emit_events([e]), policy=policy)
            handle = StreamHandle(cfg, ingest, slot, sch)
            self.streams[cfg.id] = handle
        sch.add(slot)
        if self._started:
            ingest.start()
        return handle

    def remove_stream(self, stream_id: str) -> bool:
        with self._lock:
            h = self.streams.pop(stream_id, None)
        if h is None:
            return False
        h.ingest.stop()
        h.scheduler.remove(stream_id)
        self._emit_events(h.slot.temporal.close())
        return True

    # -- degradation to a fallback backend -------------------------------------------------
    def _move(self, h: StreamHandle, to: Scheduler) -> None:
        h.scheduler.remove(h.id, moving=True)
        h.scheduler = to
        h.ingest.buffer.set_wakeup(to.wakeup)
        to.add(h.slot)

    def _overloaded(self, sch: Scheduler, slots: list[StreamSlot]) -> None:
        """The backend ran out of memory or time: move these streams to their fallback."""
        with self._lock:
            for slot in slots:
                h = self.streams.get(slot.stream_id)
                assert h is None or h.config.backend is not None
                if h is None or h.scheduler is not sch or h.config.backend.fallback is None:
                    continue
                fb = self._scheduler_for(h.config.backend.fallback)
                h.primary = h.primary or sch
                h.fallback_until = now() + h.config.backend.cooldown_s
                self._move(h, fb)
                log.warning("stream %s: backend %s overloaded; using %s for %.0f s", h.id,
                            sch.backend.name, fb.backend.name, h.config.backend.cooldown_s)

    def _restore(self) -> None:
        """Move streams back to their own backend once their cooldown is over."""
        t = now()
        with self._lock:
            for h in self.streams.values():
                if h.primary is not None and t >= h.fallback_until:
                    primary, h.primary = h.primary, None
                    self._move(h, primary)
                    log.info("stream %s: back on backend %s", h.id, primary.backend.name)

    def _release_idle_backends(self) -> None:
        """Close a backend (and free its memory) once no stream has used it for
        ``release_after_s``; a stream re-added within that time finds it still loaded."""
        t = now()
        with self._lock:
            in_use = {id(h.scheduler) for h in self.streams.values()} | {
                id(h.primary) for h in self.streams.values() if h.primary is not None}
            idle = []
            for key, sch in list(self._schedulers.items()):
                if id(sch) in in_use:
                    self._idle_since.pop(key, None)
                elif t - self._idle_since.setdefault(key, t) >= self.release_after_s:
                    idle.append(self._schedulers.pop(key))
                    del self._idle_since[key]
        for sch in idle:
            sch.stop(drain=True)
            sch.backend.close()
            log.info("backend %s released: no stream has used it for %.0f s", sch.backend.name,
                     self.release_after_s)

    def _supervise(self) -> None:
        while not self._stopped:
            self._restore()
            self._release_idle_backends()
            time.sleep(0.25)

    def _on_state(self, stream_id: str, state: StreamState, error: str | None) -> None:
        if state is StreamState.FAILED:
            self._emit_events([Event(stream_id, "source_failed", "instant", start_ts=now(),
                                     end_ts=now(), data={"error": error or ""})])

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._started = True
        self._supervisor.start()
        for s in self.sinks:
            s.start()
        for sch in self._schedulers.values():
            sch.start()
        for h in list(self.streams.values()):
            h.ingest.start()

    def idle(self) -> bool:
        """Every stream finished and nothing left to analyse."""
        for h in list(self.streams.values()):
            if not h.ingest.done or len(h.ingest.buffer) or h.slot.pending is not None \
                    or h.slot.in_flight:
                return False
            if h.slot.sampler.holds_frame:
                return False
        return True

    def wait(self, duration: float | None = None, stop: threading.Event | None = None) -> None:
        """Block until every stream is done, ``duration`` seconds pass, or ``stop`` is set."""
        deadline = None if duration is None else time.time() + duration
        while True:
            if stop is not None and stop.is_set():
                return
            if deadline is not None and time.time() >= deadline:
                return
            if self.idle():
                return
            time.sleep(0.05)

    def stop(self, *, drain: bool = True) -> None:
        """Stop sources, finish (drain) what is pending, close every sink. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._supervisor.is_alive():
            self._supervisor.join()
        handles = list(self.streams.values())
        for h in handles:
            h.ingest.request_stop()
            h.ingest.buffer.close()  # releases a decoder waiting for room
        for h in handles:
            h.ingest.stop()
        for sch in self._schedulers.values():
            sch.stop(drain=drain)
        for h in handles:
            self._emit_events(h.slot.temporal.close())
        for sch in self._schedulers.values():
            sch.backend.close()
        for s in self.sinks:
            s.close()

    # -- views ---------------------------------------------------------------------------
    def status(self) -> list[dict[str, Any]]:
        return [h.status(self.metrics) for h in list(self.streams.values())]

    def summary(self) -> dict[str, Any]:
        handles = list(self.streams.values())
        counters = {h.id: {"state": h.ingest.state.value, "last_error": h.ingest.last_error,
                           **h.slot.counters.snapshot()} for h in handles}
        targets = {h.id: h.config.fps for h in handles}
        out = self.metrics.summary(counters, targets)
        out["backends"] = {sch.backend.name: {"est_batch_ms": round(sch.est_infer_ms, 3),
                                              "rate_scale": round(sch.scale, 3)}
                           for sch in self._schedulers.values()}
        out["sink_drops"] = {s.name: s.dropped for s in self.sinks}
        return out
