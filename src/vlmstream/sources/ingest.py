"""One decode thread per stream: open the source, stamp each picture, hand it to the buffer,
and keep a live source alive through its faults.

States: connecting -> live; a lost peer or an error -> reconnecting (capped exponential
backoff with jitter) -> live again; no frame for ``watchdog_s`` -> stalled; a source that
keeps failing -> failed, retried slowly; a file that finishes -> ended. Every change and
every gap in the pictures (with its length) is reported as an Event. A source fault ends
(or pauses) only its own stream; nothing here ever raises into the process.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from vlmstream.buffers import StreamBuffer
from vlmstream.frames import Event, Frame, now
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


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How hard to hold on to a live source. Keys of a stream's ``options`` by these names
    configure it (see ``split``); the rest go to the source."""

    watchdog_s: float = 5.0  # no frame this long while live: stalled
    backoff_s: float = 0.5  # first retry delay, doubled per failed try ...
    backoff_max_s: float = 10.0  # ... up to this
    fail_after: int = 6  # this many failed tries in a row: failed, then slow retries
    failed_retry_s: float = 30.0
    gap_frames: float = 2.5  # a pts jump of more than this many frame intervals is a gap

    @classmethod
    def split(cls, options: dict[str, Any] | None) -> tuple[ReconnectPolicy, dict[str, Any]]:
        """(policy from the keys it knows, the remaining source options)."""
        opts = dict(options or {})
        defaults = {f.name: f.default for f in fields(cls)}
        mine = {k: opts.pop(k) for k in list(opts) if k in defaults}
        try:
            policy = cls(**{k: type(defaults[k])(v) for k, v in mine.items()})
        except (TypeError, ValueError) as e:
            raise ValueError(f"bad reconnect option ({e})") from None
        for k, v in mine.items():
            if float(v) <= 0:
                raise ValueError(f"reconnect option {k} must be positive, got {v!r}")
        return policy, opts

    def delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait before try number ``failures + 1`` (jittered so that many
        streams of one dead server do not reconnect in lockstep)."""
        if failures >= self.fail_after:
            return self.failed_retry_s * rng.uniform(0.8, 1.2)
        d = min(self.backoff_max_s, self.backoff_s * 2 ** (failures - 1))
        return rng.uniform(d / 2, d)


@dataclass(slots=True)
class IngestStats:
    """What a stream survived, for status views and metrics."""

    reconnects: int = 0
    gaps: int = 0
    lost_frames: int = 0
    gap_s_total: float = 0.0
    stalls: int = 0
    corrupt_packets: int = 0
    decode_errors: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (round(v, 3) if isinstance(v := getattr(self, f.name), float) else v)
                for f in fields(self)}


class Ingest:
    """Runs a stream's source on its own thread until it ends, fails for good, or
    ``stop()`` is called. ``make_source`` is called again for every reconnect."""

    def __init__(self, stream_id: str, make_source: Callable[[], Source], buffer: StreamBuffer,
                 *, on_state: Callable[[str, StreamState, str | None], None] | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 policy: ReconnectPolicy | None = None) -> None:
        self.stream_id = stream_id
        self._make_source = make_source
        self.buffer = buffer
        self._on_state = on_state
        self._on_event = on_event
        self.policy = policy or ReconnectPolicy()
        self.state = StreamState.CONNECTING
        self.last_error: str | None = None
        self.info: SourceInfo | None = None
        self.source: Source | None = None
        self.frames = 0
        self.first_frame_s: float | None = None
        self.stats = IngestStats()
        self._last_arrival: float | None = None
        self._got_frames = False  # in the current session
        self._lock = threading.Lock()
        self._rng = random.Random(hash(stream_id))
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ingest-{stream_id}", daemon=True)
        self._watchdog = threading.Thread(target=self._watch, name=f"watchdog-{stream_id}",
                                          daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._watchdog.start()

    def request_stop(self) -> None:
        self._stop.set()
        interrupt = getattr(self.source, "interrupt", None)  # sources that wait on a peer
        if interrupt is not None:
            interrupt()

    def stop(self, timeout: float = 5.0) -> None:
        self.request_stop()
        for t in (self._thread, self._watchdog):
            if t.is_alive():
                t.join(timeout)

    @property
    def done(self) -> bool:
        """The thread has finished: the stream ended, was stopped, or failed for good.
        (A live source marked failed keeps being retried, so it is not done.)"""
        return self._finished.is_set()

    # -- reporting -----------------------------------------------------------------------
    def _set(self, state: StreamState, error: str | None = None) -> None:
        with self._lock:
            if state is self.state and error is None:
                return
            previous, self.state = self.state, state
            if error is not None:
                self.last_error = error
        if state is not previous:
            log.info("stream %s: %s -> %s%s", self.stream_id, previous.value, state.value,
                     f" ({error})" if error else "")
        t = now()
        data: dict[str, Any] = {"state": state.value, "previous": previous.value}
        if error is not None:
            data["error"] = error
        self._event(Event(self.stream_id, "stream_state", "instant", start_ts=t, end_ts=t,
                          start_seq=self.frames, data=data))
        if self._on_state is not None:
            self._on_state(self.stream_id, state, error)

    def _event(self, e: Event) -> None:
        if self._on_event is not None:
            try:
                self._on_event(e)
            except Exception:  # a sink's bug must not stop ingest
                log.exception("stream %s: event callback failed", self.stream_id)

    def _gap(self, start_ts: float, end_ts: float, gap_s: float, fps: float | None,
             cause: str) -> None:
        lost = max(0, round(gap_s * fps) - 1) if fps else None
        self.stats.gaps += 1
        self.stats.gap_s_total += gap_s
        self.stats.lost_frames += lost or 0
        log.warning("stream %s: %.2f s gap in the pictures (%s), about %s frame(s) lost",
                    self.stream_id, gap_s, cause, "?" if lost is None else lost)
        self._event(Event(self.stream_id, "frame_gap", "instant", start_ts=start_ts,
                          end_ts=end_ts, start_seq=self.frames - 1, end_seq=self.frames,
                          data={"gap_s": round(gap_s, 3), "lost_frames": lost, "cause": cause}))

    def snapshot(self) -> dict[str, Any]:
        """State, error and fault counters in one dict (for status and metrics views)."""
        s = self.stats.to_dict()
        if self.source is not None:
            s["corrupt_packets"] += self.source.counters.corrupt_packets
            s["decode_errors"] += self.source.counters.decode_errors
        return {"state": self.state.value, "last_error": self.last_error, "frames": self.frames,
                "decoder": None if self.info is None else self.info.extra.get("decode"),
                **s}

    # -- the threads ---------------------------------------------------------------------
    def _watch(self) -> None:
        """Marks the stream stalled when no frame came for ``watchdog_s`` while live; the
        source's own read timeout then forces the reconnect."""
        limit = self.policy.watchdog_s
        while not self._stop.wait(min(0.25, limit / 4)) and not self._finished.is_set():
            last = self._last_arrival
            if self.state is StreamState.LIVE and last is not None and now() - last > limit:
                self.stats.stalls += 1
                self._set(StreamState.STALLED, f"no frame for {limit:g} s (watchdog)")

    def _run(self) -> None:
        t_open = now()
        failures = 0
        try:
            while not self._stop.is_set():
                error, retry = self._session(t_open)
                if error is None:  # the source ended normally, or we were stopped
                    self._set(StreamState.STOPPED if self._stop.is_set() else StreamState.ENDED)
                    return
                if not retry:
                    self._set(StreamState.FAILED, error)
                    return
                failures = 1 if self._got_frames else failures + 1
                delay = self.policy.delay(failures, self._rng)
                if failures >= self.policy.fail_after:
                    self._set(StreamState.FAILED, f"{error} (failed {failures} times in a row; "
                                                  f"retrying every ~{self.policy.failed_retry_s:g} s)")
                else:
                    self._set(StreamState.RECONNECTING, error)
                if self._stop.wait(delay):
                    break
                self.stats.reconnects += 1
            self._set(StreamState.STOPPED)
        finally:
            self.buffer.close()
            self._finished.set()

    def _session(self, t_open: float) -> tuple[str | None, bool]:
        """Open the source once and read it until it ends or breaks.

        Returns (None, _) when it ended normally or we were stopped, else
        (the error to show, whether to try again)."""
        self._got_frames = False
        src: Source | None = None
        try:
            src = self._make_source()
            self.source = src
            self.info = info = src.open()
            fps = info.fps
            last_pts: float | None = None
            for d in src.frames():
                if self._stop.is_set():
                    return None, False
                t = now()
                if not self._got_frames:
                    self._got_frames = True
                    if self.first_frame_s is None:
                        self.first_frame_s = t - t_open
                    if self._last_arrival is not None:  # back after a reconnect
                        self._gap(self._last_arrival, t, t - self._last_arrival, fps, "reconnect")
                    self._set(StreamState.LIVE)
                elif self.state is StreamState.STALLED:
                    self._set(StreamState.LIVE)
                if d.pts is not None and last_pts is not None and fps:
                    step = d.pts - last_pts
                    if step > self.policy.gap_frames / fps:
                        self._gap(t - step, t, step - 1.0 / fps, fps, "timestamps")
                last_pts = d.pts if d.pts is not None else last_pts
                self.buffer.put(Frame(self.stream_id, self.frames, d.image, d.pts, t,
                                      capture_ts=d.capture_ts))
                self.frames += 1
                self._last_arrival = t
            return None, False
        except SourceError as e:
            # The same failure again (a camera that stays down) is news only once.
            level = logging.DEBUG if str(e) == self.last_error else logging.ERROR
            log.log(level, "stream %s: %s", self.stream_id, e)
            live = src is not None and src.live
            return str(e), e.retryable or (live and self._got_frames)
        except Exception as e:  # never let one stream's bug take the process down
            log.exception("stream %s: unexpected error in decode thread", self.stream_id)
            return f"unexpected error: {e}", src is not None and src.live and self._got_frames
        finally:
            if src is not None:
                self.source = None
                self.stats.corrupt_packets += src.counters.corrupt_packets
                self.stats.decode_errors += src.counters.decode_errors
                src.close()
