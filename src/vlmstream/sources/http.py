"""``http(s)://`` URLs: HLS playlists go to HlsSource, anything else is read as a video
file streamed over HTTP (live when the server never says how long it is)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from vlmstream.sources.base import Source, register_scheme
from vlmstream.sources.hls import HlsSource
from vlmstream.sources.live import LiveAVSource


class HttpVideoSource(LiveAVSource):
    finite_is_vod = True

    def __init__(self, uri: str, **options: Any) -> None:
        av_options = {"reconnect": "1", **options.pop("av_options", {})}
        super().__init__(uri, av_options=av_options, **options)


@register_scheme("http", "https")
def http_source(uri: str, **options: Any) -> Source:
    if urlsplit(uri).path.lower().endswith((".m3u8", ".m3u")):
        return HlsSource(uri, **options)
    return HttpVideoSource(uri, **options)
