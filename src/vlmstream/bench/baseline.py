"""The naive pattern from the seeds, measured beside the engine in every run.

One thread per stream grabs the latest decoded frame and calls the model on it, one frame
at a time: no batching, no scheduler, no deadline. The model is one shared instance, and
calls to it are serialised by a lock, as a model that is not thread-safe (most are) needs.
Decoding is exactly the engine's (same sources, same ingest thread and buffer), so any
difference comes from what happens after decode.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from vlmstream.backends import Task, create
from vlmstream.buffers import StreamBuffer, StreamCounters
from vlmstream.config import BackendConfig, StreamConfig
from vlmstream.frames import Result, now
from vlmstream.sources import create_source
from vlmstream.sources.ingest import Ingest

log = logging.getLogger(__name__)


class NaiveStream:
    """One stream of the baseline: its decode thread and its model-calling thread."""

    def __init__(self, cfg: StreamConfig, owner: NaiveBaseline) -> None:
        assert cfg.id is not None and cfg.task is not None
        self.cfg = cfg
        self.owner = owner
        self.counters = StreamCounters()
        self.wakeup = threading.Event()
        self.buffer = StreamBuffer(self.counters, seconds=cfg.buffer_s, fps=max(cfg.fps, 30.0),
                                   wakeup=self.wakeup)
        self.task = Task(cfg.task.kind, tuple(cfg.task.labels), cfg.task.prompt)
        self.ingest = Ingest(cfg.id, lambda: create_source(cfg.source, realtime=cfg.realtime,
                                                           loop=cfg.loop, size=cfg.size),
                             self.buffer)
        self.thread = threading.Thread(target=self._loop, name=f"naive-{cfg.id}", daemon=True)

    def _loop(self) -> None:
        period = 1.0 / self.cfg.fps
        prev = None
        owner = self.owner
        while not owner.stopping.is_set():
            started = now()
            frames = self.buffer.take_all()
            if not frames:
                if self.ingest.done:
                    return
                self.wakeup.wait(0.05)
                self.wakeup.clear()
                continue
            self.counters.drop("rate", len(frames) - 1)
            f = frames[-1]
            with owner.model_lock:
                f.stages.stamp("infer_start")
                try:
                    out = owner.backend.infer([f.image], self.task, [prev])[0]
                except Exception as e:  # a failing call costs this frame, not the stream
                    self.counters.drop("error")
                    log.error("baseline %s: backend failed: %s", self.cfg.id, e)
                    continue
                f.stages.stamp("infer_end")
            prev = f.image
            self.counters.analysed += 1
            r = Result(stream_id=f.stream_id, seq=f.seq, pts=f.pts, capture_ts=f.capture_ts,
                       arrival_ts=f.arrival_ts, task=self.task.kind, backend=owner.backend.name,
                       output=out, stages=f.stages, width=f.width, height=f.height,
                       raw_label=out.label)
            r.stages.stamp("sink")
            for fn in owner.listeners:
                fn(r)
            rest = period - (now() - started)
            if rest > 0:
                time.sleep(rest)


class NaiveBaseline:
    """N naive streams sharing one backend; the same start/stop/subscribe as a Pipeline."""

    def __init__(self, streams: list[StreamConfig], backend: BackendConfig) -> None:
        self.backend = create(backend.name, **backend.options)
        self.model_lock = threading.Lock()
        self.stopping = threading.Event()
        self.listeners: list[Callable[[Result], None]] = []
        self.streams = [NaiveStream(cfg, self) for cfg in streams]

    def subscribe(self, fn: Callable[[Result], None], *, images: bool = False) -> None:
        self.listeners.append(fn)

    def counters(self) -> dict[str, dict[str, Any]]:
        return {s.ingest.stream_id: s.counters.snapshot() for s in self.streams}

    def start(self) -> None:
        for s in self.streams:
            s.ingest.start()
            s.thread.start()

    def stop(self, *, drain: bool = True) -> None:
        """Stop reading and calling the model; ``drain`` is accepted for symmetry (the
        baseline holds no pending work beyond the call in progress)."""
        self.stopping.set()
        for s in self.streams:
            s.ingest.request_stop()
        for s in self.streams:
            s.ingest.stop()
            s.thread.join(5.0)
        self.backend.close()
