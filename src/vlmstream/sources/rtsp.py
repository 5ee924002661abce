"""RTSP cameras and servers: ``rtsp://[user:password@]host[:port]/path``.

TCP interleaved transport by default (no loss, works through NAT); ``transport=udp`` for
the lowest latency on a clean network. Credentials come from the URL or from the
``user``/``password`` options and are never logged, shown or returned.
"""

from __future__ import annotations

from typing import Any

import av.error

from vlmstream.sources.base import SourceError, register_scheme
from vlmstream.sources.live import LiveAVSource

TRANSPORTS = ("tcp", "udp")


@register_scheme("rtsp", "rtsps")
class RtspSource(LiveAVSource):
    def __init__(self, uri: str, *, transport: str = "tcp", **options: Any) -> None:
        if transport not in TRANSPORTS:
            raise SourceError(f"transport {transport!r} is not one of {', '.join(TRANSPORTS)}")
        av_options = {"rtsp_transport": transport, **options.pop("av_options", {})}
        if transport == "udp":
            av_options.setdefault("reorder_queue_size", "0")
        super().__init__(uri, av_options=av_options, **options)
        self.transport = transport

    def _open_error(self, e: BaseException) -> SourceError:
        err = super()._open_error(e)
        # The server answered DESCRIBE, so this is a stream: unreadable first packets
        # (probing under load, a camera still starting) are worth another try.
        if isinstance(e, av.error.InvalidDataError):
            err.retryable = True
        return err
