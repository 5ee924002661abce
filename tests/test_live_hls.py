"""HLS: a live sliding playlist written by PyAV's hls muxer, served over HTTP on loopback."""

from __future__ import annotations

import pytest

from peers import free_port, hls_server
from test_live_rtsp import start_ingest, wait_for
from vlmstream.sources import SourceError, create_source
from vlmstream.sources.ingest import StreamState

pytestmark = pytest.mark.timeout(90)


def test_live_hls_starts_at_the_newest_segment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    with hls_server(port, tmp_path):
        ing, buf, _ = start_ingest(f"http://127.0.0.1:{port}/live.m3u8", timecode=True)
        try:
            assert wait_for(lambda: ing.frames >= 45, 20), ing.snapshot()
            assert ing.state is StreamState.LIVE and ing.info is not None and ing.info.live
        finally:
            ing.stop()
        frames = buf.take_all()
        lat = sorted(f.arrival_ts - f.capture_ts for f in frames if f.capture_ts)
        assert len(lat) >= 0.9 * len(frames)
        assert lat[len(lat) // 2] < 3.0  # about a segment, not the 5-segment window
        for bad, msg in (("notvideo.m3u8", "not a video stream"),
                         ("gone.m3u8", "no stream at this path")):
            with pytest.raises(SourceError, match=msg):
                create_source(f"http://127.0.0.1:{port}/{bad}").open()


def test_vod_playlist_ends_normally(tmp_path, small_video) -> None:  # type: ignore[no-untyped-def]
    import av

    vod = tmp_path / "vod"
    vod.mkdir()
    with av.open(str(small_video)) as src, av.open(str(vod / "v.m3u8"), "w", format="hls",
                                                  options={"hls_time": "1",
                                                           "hls_playlist_type": "vod"}) as out:
        ins = src.streams.video[0]
        o = out.add_stream_from_template(ins)
        for p in src.demux(ins):
            if p.dts is not None:
                p.stream = o
                out.mux(p)
    port = free_port()
    with hls_server(port, vod):
        ing, buf, _ = start_ingest(f"http://127.0.0.1:{port}/v.m3u8")
        try:
            assert wait_for(lambda: ing.done, 20), ing.snapshot()
        finally:
            ing.stop()
    assert ing.state is StreamState.ENDED and ing.frames == 60
