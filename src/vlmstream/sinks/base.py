"""Sinks never block the pipeline: each has a bounded queue and its own writer thread.

If a sink cannot keep up, results are dropped *at that sink* and counted; the pipeline and
the other sinks go on. ``close()`` writes out everything already queued, so a clean stop
loses nothing that was produced.
"""

from __future__ import annotations

import logging
import queue
import threading
from abc import ABC, abstractmethod

from vlmstream.frames import Event, Result

log = logging.getLogger(__name__)

_STOP = object()


class Sink(ABC):
    """Receives every result (and stream events that belong to no result)."""

    name: str = "sink"
    needs_images: bool = False  # ask the pipeline to keep the analysed picture on results

    def __init__(self, *, queue_size: int = 10_000) -> None:
        self._q: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self.dropped = 0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name=f"sink-{self.name}", daemon=True)
        self._started = False
        self._closed = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def publish(self, item: Result | Event) -> None:
        """Hand over without waiting; counts a drop if this sink is backed up."""
        if self._closed:
            return
        try:
            self._q.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            if self.dropped in (1, 100, 10_000):
                log.warning("sink %s is backed up: %d result(s) dropped at this sink",
                            self.name, self.dropped)

    @property
    def depth(self) -> int:
        """Items queued and not yet written (for queue-depth metrics)."""
        return self._q.qsize()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                break
            try:
                if isinstance(item, Result):
                    self.write(item)
                else:
                    self.write_event(item)  # type: ignore[arg-type]
                self.written += 1
            except Exception:  # a sink fault must not kill the sink thread silently
                log.exception("sink %s failed to write; continuing", self.name)
        self.finish()

    @abstractmethod
    def write(self, result: Result) -> None:
        """Write one result (runs on this sink's thread)."""

    def write_event(self, event: Event) -> None:
        """Write an event that belongs to no result; sinks without an event form skip it."""
        log.debug("sink %s has no event form; skipped %s", self.name, event.kind)

    def finish(self) -> None:
        """Flush and release files (runs on this sink's thread after the last item)."""

    def close(self) -> None:
        """Write out everything queued, then release. Blocks until done."""
        if self._closed:
            return
        self._closed = True
        if not self._started:
            self.finish()
            return
        self._q.put(_STOP)
        self._thread.join()
