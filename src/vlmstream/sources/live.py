"""What every network source shares: low-latency demux, hidden credentials, EOF as a
disconnect, a choice of decoder, and a pixel time code for measuring latency.

A live source that ends has lost its peer: ``frames()`` raises a retryable SourceError
instead of returning, so the ingest thread reconnects instead of declaring the stream over.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import av.error
import numpy as np

from vlmstream.sources.base import Decoded, SourceError, SourceInfo
from vlmstream.sources.hwaccel import choose_hwaccel
from vlmstream.sources.pyav import PyAVSource, _reason

log = logging.getLogger(__name__)

# Demux options that keep FFmpeg from buffering a live stream: no probing buffer, no
# reorder delay; decode with SLICE threading (frame threading holds back frames).
LOW_LATENCY = {"fflags": "nobuffer", "flags": "low_delay", "max_delay": "0",
               "probesize": "32768", "analyzeduration": "500000"}


def split_credentials(uri: str, user: str | None = None,
                      password: str | None = None) -> tuple[str, str]:
    """(URL to connect to, with credentials; URL to show, without them).

    Credentials come from the URL or from ``user``/``password`` options (options win)."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    u = user if user is not None else (unquote(parts.username) if parts.username else None)
    p = password if password is not None else (unquote(parts.password)
                                               if parts.password else None)
    shown = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    if u is None:
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), shown
    auth = quote(u, safe="") + (":" + quote(p, safe="") if p is not None else "")
    return urlunsplit((parts.scheme, f"{auth}@{netloc}", parts.path, parts.query,
                       parts.fragment)), shown


def redact(text: str) -> str:
    """Remove ``user:password@`` from any URL in a message before it is logged or shown."""
    return re.sub(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@", r"\1", text)


class TimeCode:
    """A wall-clock time (ms) drawn as 48 black/white cells in the top-left corner.

    Publishers draw it when they make a picture; a reader recovers it after encode,
    network and decode, so latency is measured on the picture itself. The layout is
    relative to the width (2 rows of 24 cells, each width/32 wide), so it survives resizing.
    40 bits of milliseconds plus an 8-bit check make a misread show as None, never as a
    wrong time.
    """

    COLS, ROWS, BITS_MS = 24, 2, 40

    @classmethod
    def _bits(cls, ms: int) -> list[int]:
        ms &= (1 << cls.BITS_MS) - 1
        check = (sum(ms.to_bytes(5, "big")) ^ 0xA5) & 0xFF
        value = (ms << 8) | check
        return [(value >> (47 - i)) & 1 for i in range(48)]

    @classmethod
    def draw(cls, image: np.ndarray, ts: float | None = None) -> None:
        """Draw ``ts`` (default: now) into an RGB (HxWx3) or luma (HxW) uint8 array."""
        w = image.shape[1]
        cell = w / 32.0
        for i, bit in enumerate(cls._bits(int(round((time.time() if ts is None else ts)
                                                    * 1000)))):
            r, c = divmod(i, cls.COLS)
            x0, x1 = int(round(c * cell)), int(round((c + 1) * cell))
            y0, y1 = int(round(r * cell)), int(round((r + 1) * cell))
            image[y0:y1, x0:x1] = 235 if bit else 16

    @classmethod
    def read(cls, image: np.ndarray) -> float | None:
        """The time drawn in an RGB picture, in seconds, or None if there is none."""
        h, w = image.shape[:2]
        cell = w / 32.0
        if cell < 2 or cls.ROWS * cell > h:
            return None
        value = 0
        for i in range(48):
            r, c = divmod(i, cls.COLS)
            yc, xc = (r + 0.5) * cell, (c + 0.5) * cell
            q = max(1, int(cell / 4))
            patch = image[int(yc) - q + 1:int(yc) + q, int(xc) - q + 1:int(xc) + q]
            value = (value << 1) | int(patch.mean() > 125)
        ms, check = value >> 8, value & 0xFF
        if check != (sum(ms.to_bytes(5, "big")) ^ 0xA5) & 0xFF or ms == 0:
            return None
        # Only 40 bits are sent: put the time in the epoch window closest to now.
        period = 1 << cls.BITS_MS
        now_ms = int(time.time() * 1000)
        ms += (now_ms - ms + period // 2) // period * period
        return ms / 1000.0


class LiveAVSource(PyAVSource):
    """A network stream FFmpeg demuxes (RTSP, HLS, HTTP): low-latency options, credentials
    never shown, open/read timeouts, end of stream reported as a disconnect, NVIDIA decode
    when there is a GPU, and (``timecode=True``) the capture time read from each picture.
    """

    live = True
    # A stream that says how long it is (an HLS VOD playlist, a file on a web server)
    # ends normally instead of being reconnected.
    finite_is_vod = False

    def __init__(self, uri: str, *, size: str | tuple[int, int] | None = None,
                 user: str | None = None, password: str | None = None,
                 open_timeout_s: float = 5.0, read_timeout_s: float = 5.0,
                 low_latency: bool = True, timecode: bool = False, hwaccel: str = "auto",
                 av_options: dict[str, Any] | None = None, live: bool = True,
                 realtime: bool = True, loop: bool = False) -> None:
        # ``realtime``/``loop`` are for files; a live stream runs at its own pace.
        target, shown = split_credentials(uri, user, password)
        opts = dict(LOW_LATENCY) if low_latency else {}
        if self.finite_is_vod:  # nobuffer discards what probing read: a short VOD would be lost
            opts.pop("fflags", None)
        opts.update({k: str(v) for k, v in (av_options or {}).items()})
        super().__init__(shown, size=size, open_options=opts,
                         thread_type="SLICE" if live else "AUTO",
                         timeout=(float(open_timeout_s), float(read_timeout_s)))
        self._target = target
        self.live = live
        self.timecode = timecode
        self.hwaccel_mode = hwaccel
        self.open_timeout_s = float(open_timeout_s)
        self.read_timeout_s = float(read_timeout_s)

    def _av_target(self) -> str:
        return self._target

    def open(self) -> SourceInfo:
        self.hwaccel, decoder_note = choose_hwaccel(self.hwaccel_mode)
        try:
            info = super().open()
        except SourceError as e:
            if self.hwaccel is None:
                raise
            log.warning("%s: hardware decode failed to open (%s); using software", self.uri, e)
            self.hwaccel, decoder_note = None, "software (hardware decode failed to open)"
            info = super().open()
        info.extra["decode"] = decoder_note
        if self.finite_is_vod and info.duration_s:
            self.live = info.live = False
        return info

    def _open_error(self, e: BaseException) -> SourceError:
        """Say what the peer answered, in words a user can act on."""
        where = self.uri
        host = urlsplit(self._target).hostname or ""
        if isinstance(e, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
            return SourceError(f"{where}: the server refused the credentials (401/403); "
                               "check the user and password")
        if isinstance(e, av.error.HTTPNotFoundError):
            return SourceError(f"{where}: the server has no stream at this path (404); "
                               "check the path")
        if isinstance(e, ConnectionRefusedError):
            return SourceError(f"{where}: connection refused; is the server running on "
                               "this host and port?", retryable=True)
        if isinstance(e, av.error.ExitError | TimeoutError):
            return SourceError(f"{where}: no answer within {self.open_timeout_s:g} s "
                               "(open_timeout_s); check the host and port", retryable=True)
        if isinstance(e, av.error.InvalidDataError):
            return SourceError(f"{where}: not a video stream FFmpeg can read; "
                               "check that the URL points at video")
        if host and not _resolves(host):
            return SourceError(f"{where}: host {host!r} not found (DNS); check the host name",
                               retryable=True)
        return SourceError(f"{where}: cannot open ({redact(_reason(e))})", retryable=True)

    def frames(self) -> Iterator[Decoded]:
        try:
            for d in super().frames():
                if self.timecode:
                    d.capture_ts = TimeCode.read(d.image)
                yield d
        except SourceError as e:
            if "exit" in str(e).lower():  # PyAV's read timeout interrupts the demuxer
                raise SourceError(f"{self.uri}: no data for {self.read_timeout_s:g} s "
                                  "(stalled)", retryable=True) from None
            raise SourceError(redact(str(e)), retryable=True) from None
        if self.live:
            raise SourceError(f"{self.uri}: the server ended the stream (disconnected)",
                              retryable=True)


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, None)
    except OSError:
        return False
    return True
