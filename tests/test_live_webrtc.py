"""WebRTC ingest: an aiortc publisher POSTs to our WHIP endpoint on loopback."""

from __future__ import annotations

import asyncio
import time

import pytest

from peers import free_port, whip_publisher
from test_live_rtsp import start_ingest, wait_for
from vlmstream.sources.ingest import ReconnectPolicy, StreamState
from vlmstream.sources.webrtc import WhipReceiver

pytest.importorskip("aiortc")
pytestmark = pytest.mark.timeout(90)


def test_whip_publisher_is_received_with_low_latency_and_comes_back() -> None:
    port = free_port()
    uri = f"whip://127.0.0.1:{port}/whip/cam"
    ing, buf, events = start_ingest(uri, ReconnectPolicy(watchdog_s=1.0, backoff_s=0.2,
                                                         backoff_max_s=0.5, fail_after=50),
                                    timecode=True, read_timeout_s=2)
    try:
        assert wait_for(lambda: ing.state is StreamState.CONNECTING and ing.info is not None, 5)
        with whip_publisher(f"http://127.0.0.1:{port}/whip/cam") as pub:
            assert wait_for(lambda: ing.frames >= 30, 20), ing.snapshot()
            frames = buf.take_all()
            lat = sorted(f.arrival_ts - f.capture_ts for f in frames if f.capture_ts)
            assert len(lat) >= 0.9 * len(frames) and 0 < lat[len(lat) // 2] < 0.5
            pub.kill()  # the publisher vanishes without a DELETE
            assert wait_for(lambda: ing.state is StreamState.STALLED, 3)
            assert wait_for(lambda: ing.state is StreamState.RECONNECTING, 5)
            pub.start()  # and publishes again
            before = ing.frames
            assert wait_for(lambda: ing.state is StreamState.LIVE and ing.frames > before + 10,
                            20), ing.snapshot()
    finally:
        ing.stop()
    assert ing.state is StreamState.STOPPED
    gaps = [e for e in events if e.kind == "frame_gap"]
    assert gaps and gaps[0].data["cause"] == "reconnect" and gaps[0].data["gap_s"] > 1.0


def test_whip_receiver_rejects_a_bad_offer() -> None:
    async def go() -> None:
        r = WhipReceiver()
        with pytest.raises(ValueError, match="offer"):
            await r.handle_offer("this is not sdp")
        await r.close()

    asyncio.run(asyncio.wait_for(go(), 10))


def test_stop_while_waiting_for_a_publisher_is_prompt() -> None:
    ing, _, _ = start_ingest(f"whip://127.0.0.1:{free_port()}/whip/cam")
    assert wait_for(lambda: ing.info is not None, 5)
    t = time.time()
    ing.stop()
    assert ing.done and time.time() - t < 2.0
