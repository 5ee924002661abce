"""Fan-out of live results to many clients (WebSocket, gRPC) without ever stalling the pipeline.

The pipeline calls ``ResultHub.publish`` on its inference thread; that only serialises the
result once, appends it to the stream's recent cache and hands it to the event loop. On the
loop, every matching subscriber gets it in its own bounded queue; when a queue is full the
oldest entry is dropped and counted, and the client is told how many it skipped (``lagged``)
before its next result. Dashboard thumbnails are encoded lazily, at most ``thumb_fps`` per
stream, from the latest analysed picture, so watching costs nothing when nobody watches.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from vlmstream.frames import Result


@dataclass(slots=True, frozen=True)
class Published:
    """One result as every client receives it: the dict, and its JSON text (with
    ``"type": "result"``) built once for all clients."""

    stream_id: str
    seq: int
    data: dict[str, Any]
    text: str


@dataclass(slots=True, frozen=True)
class Lagged:
    skipped: int


class Subscriber:
    """One live client: a bounded queue of results for one stream or all (``stream_id=None``)."""

    def __init__(self, stream_id: str | None, maxsize: int) -> None:
        self.stream_id = stream_id
        self.maxsize = maxsize
        self._q: deque[Published] = deque()
        self._ready = asyncio.Event()
        self.skipped = 0  # not yet reported to the client
        self.skipped_total = 0
        self.closed = False

    def offer(self, item: Published) -> None:
        if self.stream_id is not None and item.stream_id != self.stream_id:
            return
        if len(self._q) >= self.maxsize:
            self._q.popleft()
            self.skipped += 1
            self.skipped_total += 1
        self._q.append(item)
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    @property
    def depth(self) -> int:
        return len(self._q)

    async def next(self) -> Published | Lagged | None:
        """The next message for this client; None once the hub closed."""
        while True:
            if self.skipped:
                n, self.skipped = self.skipped, 0
                return Lagged(n)
            if self._q:
                return self._q.popleft()
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()


@dataclass
class _Thumb:
    seq: int = -1
    image: np.ndarray | None = None
    jpeg: bytes | None = None
    jpeg_seq: int = -1
    encoded_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class ResultHub:
    def __init__(self, *, recent: int = 100, queue_size: int = 256, thumb_fps: float = 4.0,
                 thumb_width: int = 480) -> None:
        self.recent_size = recent
        self.queue_size = queue_size
        self.thumb_interval = 1.0 / thumb_fps
        self.thumb_width = thumb_width
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._recent: dict[str, deque[Published]] = {}
        self._thumbs: dict[str, _Thumb] = {}
        self.published = 0
        self.closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver to subscribers on ``loop`` (the server's event loop)."""
        self._loop = loop

    # -- pipeline side (inference thread) -------------------------------------------------
    def publish(self, r: Result) -> None:
        data = r.to_dict()
        text = json.dumps({"type": "result", **data}, separators=(",", ":"))
        item = Published(r.stream_id, r.seq, data, text)
        with self._lock:
            self._recent.setdefault(r.stream_id, deque(maxlen=self.recent_size)).append(item)
            if r.image is not None:
                t = self._thumbs.setdefault(r.stream_id, _Thumb())
                t.seq, t.image = r.seq, r.image
        self.published += 1
        loop = self._loop
        if loop is not None and not self.closed:
            try:
                loop.call_soon_threadsafe(self._dispatch, item)
            except RuntimeError:  # the loop closed during shutdown
                pass

    def _dispatch(self, item: Published) -> None:
        for s in list(self._subs):
            s.offer(item)

    # -- client side (event loop) ---------------------------------------------------------
    def subscribe(self, stream_id: str | None = None) -> Subscriber:
        s = Subscriber(stream_id, self.queue_size)
        if self.closed:
            s.close()
        self._subs.add(s)
        return s

    def unsubscribe(self, s: Subscriber) -> None:
        self._subs.discard(s)

    def close(self) -> None:
        """Tell every client the server is going away (their loops end after what is queued)."""
        self.closed = True
        for s in list(self._subs):
            s.close()

    @property
    def clients(self) -> int:
        return len(self._subs)

    def queue_depths(self) -> list[int]:
        return [s.depth for s in list(self._subs)]

    # -- caches ---------------------------------------------------------------------------
    def recent(self, stream_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self._recent.get(stream_id, ()))
        if limit is not None:
            items = items[-limit:] if limit > 0 else []
        return [i.data for i in items]

    def forget(self, stream_id: str) -> None:
        with self._lock:
            self._recent.pop(stream_id, None)
            self._thumbs.pop(stream_id, None)

    def thumbnail(self, stream_id: str) -> tuple[int, bytes] | None:
        """(seq, JPEG) of the stream's latest analysed picture; re-encoded at most
        ``thumb_fps`` times a second. None before the first picture."""
        with self._lock:
            t = self._thumbs.get(stream_id)
        if t is None:
            return None
        with t.lock:
            seq, img = t.seq, t.image
            fresh = time.monotonic() - t.encoded_at < self.thumb_interval
            if img is not None and seq != t.jpeg_seq and (t.jpeg is None or not fresh):
                t.jpeg, t.jpeg_seq, t.encoded_at = _encode_jpeg(img, self.thumb_width), seq, \
                    time.monotonic()
            return None if t.jpeg is None else (t.jpeg_seq, t.jpeg)


def _encode_jpeg(rgb: np.ndarray, width: int) -> bytes:
    h, w = rgb.shape[:2]
    if w > width:
        rgb = cv2.resize(rgb, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 75])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
