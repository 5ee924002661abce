"""RTSP against a real gst-rtsp-server on loopback: decode, latency stamp, credentials,
errors, and the faults a camera server has (killed and restarted, frozen)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pytest

from peers import free_port, have_gst_rtsp_server, hls_server, rtsp_server
from vlmstream.buffers import StreamBuffer, StreamCounters
from vlmstream.frames import Event
from vlmstream.sources import SourceError, create_source
from vlmstream.sources.ingest import Ingest, ReconnectPolicy, StreamState

pytestmark = [pytest.mark.skipif(not have_gst_rtsp_server(),
                                 reason="needs Debian gir1.2-gst-rtsp-server-1.0 + x264 plugin"),
              pytest.mark.timeout(60)]


def wait_for(cond: Callable[[], bool], timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def start_ingest(uri: str, policy: ReconnectPolicy | None = None,
                 **options: object) -> tuple[Ingest, StreamBuffer, list[Event]]:
    buf = StreamBuffer(StreamCounters(), seconds=2.0, fps=30)
    events: list[Event] = []
    ing = Ingest("cam", lambda: create_source(uri, **options), buf, on_event=events.append,
                 policy=policy)
    ing.start()
    return ing, buf, events


def test_rtsp_decodes_live_with_timecode_and_hides_credentials(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    with rtsp_server(port, user="bob", password="s3cret"):
        ing, buf, events = start_ingest(f"rtsp://bob:s3cret@127.0.0.1:{port}/cam", timecode=True)
        try:
            assert wait_for(lambda: ing.frames >= 30, 10), ing.snapshot()
            frames = buf.take_all()
            lat = [f.arrival_ts - f.capture_ts for f in frames if f.capture_ts is not None]
            assert len(lat) >= 0.9 * len(frames)
            assert 0 < float(np.median(lat)) < 0.5
            assert ing.state is StreamState.LIVE and ing.info is not None
            assert ing.info.codec == "h264" and (ing.info.width, ing.info.height) == (320, 240)
            assert ing.snapshot()["decoder"]
        finally:
            ing.stop()
    assert "s3cret" not in caplog.text and "s3cret" not in str(ing.snapshot())
    assert all("s3cret" not in str(e.to_dict()) for e in events)


@pytest.mark.parametrize("case", ["wrong_path", "wrong_credentials", "refused", "wrong_host",
                                  "not_video"])
def test_rtsp_and_http_errors_are_clear(case: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    expected = {"wrong_path": "no stream at this path (404)",
                "wrong_credentials": "refused the credentials",
                "refused": "connection refused",
                "wrong_host": "not found (DNS)",
                "not_video": "not a video stream"}[case]
    if case == "not_video":
        with hls_server(port, tmp_path):
            with pytest.raises(SourceError, match=expected):
                create_source(f"http://127.0.0.1:{port}/page.html").open()
        return
    uri = {"wrong_path": f"rtsp://127.0.0.1:{port}/nope",
           "wrong_credentials": f"rtsp://bob:wrong@127.0.0.1:{port}/cam",
           "refused": f"rtsp://127.0.0.1:{free_port()}/cam",
           "wrong_host": "rtsp://no-such-camera.invalid/cam"}[case]
    with rtsp_server(port, user="bob" if case == "wrong_credentials" else None,
                     password="right"):
        ing, _, _ = start_ingest(uri, open_timeout_s=3)
        try:
            assert wait_for(lambda: ing.last_error is not None, 10)
            assert expected in (ing.last_error or "")
            assert "wrong" not in (ing.last_error or "")
            retryable = case in ("refused", "wrong_host")
            if not retryable:  # a configuration error is final
                assert wait_for(lambda: ing.done, 5) and ing.state is StreamState.FAILED
            else:
                assert ing.state is StreamState.RECONNECTING and not ing.done
        finally:
            ing.stop()


def test_killed_server_reconnects_and_reports_the_gap() -> None:
    port = free_port()
    with rtsp_server(port) as server:
        ing, _, events = start_ingest(f"rtsp://127.0.0.1:{port}/cam",
                                      ReconnectPolicy(watchdog_s=1.0, backoff_s=0.2,
                                                      backoff_max_s=0.5, fail_after=50),
                                      read_timeout_s=2)
        try:
            assert wait_for(lambda: ing.state is StreamState.LIVE and ing.frames > 10, 20)
            server.kill()
            assert wait_for(lambda: ing.state is StreamState.RECONNECTING, 5), ing.snapshot()
            time.sleep(1.5)
            server.start()
            before = ing.frames
            assert wait_for(lambda: ing.state is StreamState.LIVE and ing.frames > before + 10,
                            15), ing.snapshot()
        finally:
            ing.stop()
    gaps = [e for e in events if e.kind == "frame_gap"]
    assert gaps and gaps[0].data["cause"] == "reconnect"
    assert gaps[0].data["gap_s"] >= 1.5 and gaps[0].data["lost_frames"] >= 40
    states = [e.data["state"] for e in events if e.kind == "stream_state"]
    assert states[0] == "live" and "reconnecting" in states and states[-1] == "stopped"
    assert ing.snapshot()["reconnects"] >= 1


def test_frozen_server_is_detected_as_stalled_and_recovers() -> None:
    port = free_port()
    with rtsp_server(port) as server:
        ing, _, events = start_ingest(f"rtsp://127.0.0.1:{port}/cam",
                                      ReconnectPolicy(watchdog_s=1.0, backoff_s=0.2,
                                                      backoff_max_s=0.5, fail_after=50),
                                      read_timeout_s=3)
        try:
            assert wait_for(lambda: ing.state is StreamState.LIVE and ing.frames > 10, 20)
            server.freeze()
            t_freeze = time.time()
            assert wait_for(lambda: ing.state is StreamState.STALLED, 3)
            assert time.time() - t_freeze < 1.0 + 0.6  # within the watchdog time (+ a tick)
            time.sleep(1.0)
            server.thaw()
            before = ing.frames
            assert wait_for(lambda: ing.state is StreamState.LIVE and ing.frames > before + 10,
                            15), ing.snapshot()
        finally:
            ing.stop()
    assert ing.snapshot()["stalls"] >= 1
    assert any(e.kind == "frame_gap" for e in events)


def test_multislice_h264_decodes_clean() -> None:
    """x264 with sliced threads puts 4 slices in every picture; each must decode whole."""
    port = free_port()
    with rtsp_server(port, slices=4, size="640x480"):
        ing, buf, _ = start_ingest(f"rtsp://127.0.0.1:{port}/cam", timecode=True)
        try:
            assert wait_for(lambda: ing.frames >= 45, 10), ing.snapshot()
        finally:
            ing.stop()
    frames = buf.take_all()[-30:]
    for f in frames:
        rows = np.concatenate([f.image[40:200], f.image[300:480]]).astype(int)
        assert np.abs(rows - rows.mean()).mean() < 3  # background only: no smeared slices
        assert f.capture_ts is not None
    assert ing.snapshot()["decode_errors"] == 0
