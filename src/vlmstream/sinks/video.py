"""Annotated MP4 (H.264) per stream: the analysed frames with their results drawn on."""

from __future__ import annotations

import logging
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vlmstream.annotate import annotate
from vlmstream.frames import Result
from vlmstream.sinks.base import Sink

log = logging.getLogger(__name__)


class VideoSink(Sink):
    """Writes ``path`` for a single stream, or ``<stem>_<stream>.mp4`` for each of several.

    Frames are placed at their source time (pts), so the video plays at real speed even
    when only some frames were analysed.
    """

    name = "video"
    needs_images = True

    def __init__(self, path: str | Path, *, multi: bool = False, crf: int = 26) -> None:
        super().__init__(queue_size=256)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.multi = multi
        self.crf = crf
        self._out: dict[str, tuple[Any, Any, float, int]] = {}
        self.paths: dict[str, Path] = {}

    def _path_for(self, stream_id: str) -> Path:
        if not self.multi:
            return self.path
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", stream_id)
        return self.path.with_name(f"{self.path.stem}_{safe}{self.path.suffix or '.mp4'}")

    def _open(self, r: Result) -> tuple[Any, Any, float, int]:
        path = self._path_for(r.stream_id)
        c = av.open(str(path), mode="w")
        s = c.add_stream("libx264", rate=30)
        s.width, s.height = r.width - r.width % 2, r.height - r.height % 2
        s.pix_fmt = "yuv420p"
        s.time_base = Fraction(1, 1000)
        s.codec_context.time_base = Fraction(1, 1000)
        s.options = {"crf": str(self.crf), "preset": "veryfast"}
        t0 = r.pts if r.pts is not None else r.arrival_ts
        self.paths[r.stream_id] = path
        return c, s, t0, -1

    def write(self, result: Result) -> None:
        if result.image is None:
            return
        if result.stream_id not in self._out:
            self._out[result.stream_id] = self._open(result)
        c, s, t0, last = self._out[result.stream_id]
        img = annotate(result.image, result)[: s.height, : s.width]
        t = result.pts if result.pts is not None else result.arrival_ts
        pts = max(last + 1, round((t - t0) * 1000))
        vf = av.VideoFrame.from_ndarray(img, format="rgb24")
        vf.pts, vf.time_base = pts, Fraction(1, 1000)
        for pkt in s.encode(vf):
            c.mux(pkt)
        self._out[result.stream_id] = (c, s, t0, pts)

    def finish(self) -> None:
        for sid, (c, s, _, _) in self._out.items():
            try:
                for pkt in s.encode(None):
                    c.mux(pkt)
                c.close()
            except av.error.FFmpegError as e:
                log.error("video for %s could not be finalised: %s", sid, e)
        self._out.clear()
