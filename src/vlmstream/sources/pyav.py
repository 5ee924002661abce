"""Decoding with PyAV (FFmpeg): the one demux/decode loop every container-based source shares.

PyAV releases the GIL while demuxing, decoding and converting, so one thread per stream
decodes in parallel. Pictures are converted to RGB at the analysis size right here, in the
decode thread, so nothing downstream ever touches a full-size YUV frame.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av
import av.error

from vlmstream.sources.base import Decoded, Source, SourceError, SourceInfo

log = logging.getLogger(__name__)


def parse_size(size: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """'640x360' or (640, 360) -> (640, 360); None keeps the source's size."""
    if size is None or size == "":
        return None
    if isinstance(size, tuple | list):
        w, h = int(size[0]), int(size[1])
    else:
        try:
            w_s, h_s = str(size).lower().split("x")
            w, h = int(w_s), int(h_s)
        except ValueError:
            raise SourceError(f"size {size!r} is not WIDTHxHEIGHT, e.g. 640x360") from None
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise SourceError(f"size {size!r}: width and height must be positive and even")
    return w, h


class PyAVSource(Source):
    """A container FFmpeg can open: files, and (with options) network streams.

    ``size`` resizes in the decode thread; ``open_options`` go to ``av.open``;
    ``thread_type`` is the decoder's threading ("AUTO" for files, "SLICE" for live:
    frame threading holds back a couple of frames).
    """

    def __init__(self, uri: str, *, size: str | tuple[int, int] | None = None,
                 open_options: dict[str, str] | None = None, thread_type: str = "AUTO",
                 timeout: float | tuple[float, float] | None = None) -> None:
        super().__init__()
        self.uri = uri
        self.size = parse_size(size)
        self.open_options = dict(open_options or {})
        self.thread_type = thread_type
        self.timeout = timeout
        self.hwaccel: Any = None  # av.codec.hwaccel.HWAccel; set by sources that pick one
        self.av_format: str | None = None  # demuxer to force (e.g. "v4l2" for cameras)
        self.last_keyframe = False
        self._container: Any = None
        self._stream: Any = None

    # What the user sees in messages: subclasses hide credentials here.
    @property
    def display_uri(self) -> str:
        return self.uri

    def _av_target(self) -> str:
        return self.uri

    def open(self) -> SourceInfo:
        try:
            self._container = av.open(self._av_target(), mode="r", options=self.open_options,
                                      timeout=self.timeout, hwaccel=self.hwaccel,
                                      format=self.av_format)
        except (av.error.FFmpegError, OSError) as e:
            raise self._open_error(e) from None
        if not self._container.streams.video:
            self.close()
            raise SourceError(f"{self.display_uri}: has no video stream; give a video file or URL")
        st = self._container.streams.video[0]
        st.thread_type = self.thread_type
        self._stream = st
        rate = st.average_rate or st.guessed_rate
        dur = None
        if st.duration is not None and st.time_base is not None:
            dur = float(st.duration * st.time_base)
        elif self._container.duration:
            dur = self._container.duration / av.time_base
        ctx = st.codec_context
        return SourceInfo(
            uri=self.display_uri, codec=ctx.name, width=ctx.width, height=ctx.height,
            fps=float(rate) if rate else None, live=self.live, duration_s=dur,
            frames=st.frames or None, decoder=ctx.codec.name)

    def _open_error(self, e: BaseException) -> SourceError:
        """The message for a failed ``av.open``; network sources say more about their peer."""
        if isinstance(e, FileNotFoundError):
            return SourceError(f"{self.display_uri}: file not found; check the path")
        if isinstance(e, av.error.InvalidDataError):
            return SourceError(f"{self.display_uri}: not a video FFmpeg can read "
                               "(unknown or damaged container); check the file")
        return SourceError(f"{self.display_uri}: cannot open ({_reason(e)})",
                           retryable=self.live)

    def frames(self) -> Iterator[Decoded]:
        if self._container is None:
            raise RuntimeError("open() first")
        st = self._stream
        tb: Fraction | None = st.time_base
        w_h = self.size
        demux = self._container.demux(st)
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                return
            except av.error.EOFError:
                return
            except (av.error.InvalidDataError, av.error.ValueError) as e:
                self._count_corrupt(e)
                continue
            except av.error.FFmpegError as e:
                raise SourceError(f"{self.display_uri}: read failed ({_reason(e)})",
                                  retryable=self.live) from None
            if packet.is_corrupt:
                self._count_corrupt(ValueError("packet flagged corrupt by the demuxer"))
            try:
                decoded = packet.decode()
            except (av.error.InvalidDataError, av.error.ValueError) as e:
                self.counters.decode_errors += 1
                self._count_corrupt(e)
                continue
            for vf in decoded:
                if w_h is not None:
                    img = vf.to_ndarray(format="rgb24", width=w_h[0], height=w_h[1], threads=1)
                else:
                    img = vf.to_ndarray(format="rgb24", threads=1)
                pts = float(vf.pts * tb) if (vf.pts is not None and tb is not None) else None
                self.last_keyframe = bool(vf.key_frame)  # read by `vlmstream probe`
                yield Decoded(image=img, pts=pts)

    def _count_corrupt(self, e: Exception) -> None:
        self.counters.corrupt_packets += 1
        self.counters.last_error = _reason(e)
        if self.counters.corrupt_packets in (1, 10, 100, 1000):
            log.warning("%s: skipped %d corrupt packet(s); last: %s", self.display_uri,
                        self.counters.corrupt_packets, self.counters.last_error)

    def close(self) -> None:
        c, self._container = self._container, None
        if c is not None:
            try:
                c.close()
            except av.error.FFmpegError:
                pass


def _reason(e: BaseException) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    return msg.strip() or type(e).__name__
