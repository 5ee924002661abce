"""One decode thread per stream: open the source, stamp each picture, hand it to the buffer.

A source fault ends (or, for live sources, pauses) only its own stream; the message names
the source and says what to do. The stream's state is visible to results, metrics and views.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import StrEnum

from vlmstream.buffers import StreamBuffer
from vlmstream.frames import Frame, now
from vlmstream.sources.base import Source, SourceError, SourceInfo

log = logging.getLogger(__name__)


class StreamState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    STALLED = "stalled"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    ENDED = "ended"
    STOPPED = "stopped"


TERMINAL = frozenset({StreamState.FAILED, StreamState.ENDED, StreamState.STOPPED})


class Ingest:
    """Runs ``source`` on its own thread until it ends, fails, or ``stop()`` is called."""

    def __init__(self, stream_id: str, make_source: Callable[[], Source], buffer: StreamBuffer,
                 *, on_state: Callable[[str, StreamState, str | None], None] | None = None) -> None:
        self.stream_id = stream_id
        self._make_source = make_source
        self.buffer = buffer
        self._on_state = on_state
        self.state = StreamState.CONNECTING
        self.last_error: str | None = None
        self.info: SourceInfo | None = None
        self.source: Source | None = None
        self.frames = 0
        self.first_frame_s: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ingest-{stream_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def done(self) -> bool:
        return self.state in TERMINAL

    def _set(self, state: StreamState, error: str | None = None) -> None:
        self.state = state
        if error is not None:
            self.last_error = error
        if self._on_state is not None:
            self._on_state(self.stream_id, state, error)

    def _run(self) -> None:
        t_open = now()
        try:
            self.source = src = self._make_source()
            self.info = src.open()
            self._set(StreamState.LIVE)
            for d in src.frames():
                if self._stop.is_set():
                    break
                t = now()
                if self.first_frame_s is None:
                    self.first_frame_s = t - t_open
                self.buffer.put(Frame(self.stream_id, self.frames, d.image, d.pts, t,
                                      capture_ts=d.capture_ts))
                self.frames += 1
            self._set(StreamState.STOPPED if self._stop.is_set() else StreamState.ENDED)
        except SourceError as e:
            log.error("stream %s: %s", self.stream_id, e)
            self._set(StreamState.FAILED, str(e))
        except Exception as e:  # never let one stream's bug take the process down
            log.exception("stream %s: unexpected error in decode thread", self.stream_id)
            self._set(StreamState.FAILED, f"unexpected error: {e}")
        finally:
            if self.source is not None:
                self.source.close()
            self.buffer.close()
