"""HLS playlists (``http(s)://.../*.m3u8``): live sliding windows and VOD.

A live playlist starts at its newest segment (``live_start_index=-1``), so latency is
about one segment, not the whole window. A VOD playlist (one with ``#EXT-X-ENDLIST``)
is read from the start and ends normally.
"""

from __future__ import annotations

from typing import Any

from vlmstream.sources.live import LiveAVSource


class HlsSource(LiveAVSource):
    finite_is_vod = True

    def __init__(self, uri: str, **options: Any) -> None:
        av_options = {"live_start_index": "-1", "http_persistent": "1",
                      **options.pop("av_options", {})}
        options.setdefault("read_timeout_s", 10.0)  # a segment is 1-6 s long
        super().__init__(uri, av_options=av_options, **options)
