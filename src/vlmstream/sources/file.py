"""Local video files, paced in real time as if live (default) or read as fast as possible."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from vlmstream.sources.base import Decoded, SourceError, SourceInfo, register_scheme
from vlmstream.sources.pyav import PyAVSource


@register_scheme("file")
class FileSource(PyAVSource):
    """A file FFmpeg reads. ``realtime`` sleeps until each picture's pts is due, so a file
    behaves like a camera; ``loop`` starts over at the end (useful for benchmarks)."""

    def __init__(self, uri: str, *, realtime: bool = True, loop: bool = False,
                 size: str | tuple[int, int] | None = None, **_: object) -> None:
        path = uri[len("file://"):] if uri.startswith("file://") else uri
        super().__init__(uri, size=size)
        self.path = path
        self.realtime = realtime
        self.loop = loop
        self.live = False

    def _av_target(self) -> str:
        return self.path

    def open(self) -> SourceInfo:
        if not os.path.exists(self.path):
            raise SourceError(f"{self.uri}: file not found; check the path")
        if os.path.isdir(self.path):
            raise SourceError(f"{self.uri}: is a directory; give a video file")
        info = super().open()
        self._fps = info.fps or 25.0
        return info

    def frames(self) -> Iterator[Decoded]:
        start_wall: float | None = None
        offset = 0.0  # pts added per loop so pts keeps increasing
        last_pts = 0.0
        while True:
            n = 0
            for d in super().frames():
                n += 1
                pts = (d.pts if d.pts is not None else last_pts + 1.0 / self._fps)
                if d.pts is not None:
                    d.pts = pts + offset
                last_pts = pts
                if self.realtime:
                    t_rel = (d.pts if d.pts is not None else 0.0)
                    if start_wall is None:
                        start_wall = time.time() - t_rel
                    delay = start_wall + t_rel - time.time()
                    if delay > 0:
                        time.sleep(delay)
                    d.capture_ts = start_wall + t_rel
                yield d
            if not self.loop or n == 0:
                return
            offset += last_pts + 1.0 / self._fps
            self.close()
            super().open()
