import json
import time

import av
import numpy as np

from vlmstream.frames import Box, Event, Output, Result, StageTimes
from vlmstream.sinks.base import Sink
from vlmstream.sinks.jsonl import JsonlSink
from vlmstream.sinks.video import VideoSink


def result(seq: int, stream: str = "cam", image=None) -> Result:
    st = StageTimes()
    t = 1000.0 + seq / 10
    for i, name in enumerate(("arrival", "sampled", "scheduled", "infer_start", "infer_end",
                              "temporal", "sink")):
        st.stamp(name, t + i * 0.001)
    return Result(stream_id=stream, seq=seq, pts=seq / 10, capture_ts=t - 0.01, arrival_ts=t,
                  task="motion", backend="motion",
                  output=Output(label="motion", score=0.5, boxes=[Box(1, 2, 30, 40, 0.9, "person",
                                                                      0, 7)]),
                  stages=st, width=64, height=48, raw_label="still", image=image,
                  events=[Event(stream, "motion", "start", start_ts=t, start_seq=seq)])


def test_jsonl_writes_one_documented_line_per_result_and_flushes_on_close(tmp_path):
    p = tmp_path / "out" / "r.jsonl"
    s = JsonlSink(p)
    s.start()
    for i in range(50):
        s.publish(result(i))
    s.publish(Event("cam", "gap", "instant", start_ts=1.0, end_ts=2.0))
    s.close()
    lines = [json.loads(x) for x in p.read_text().splitlines()]
    assert len(lines) == 51
    r = lines[0]
    for key in ("type", "stream_id", "seq", "pts", "capture_ts", "arrival_ts", "task", "backend",
                "label", "raw_label", "score", "boxes", "events", "stages_ms", "latency_ms",
                "width", "height", "degraded"):
        assert key in r, key
    assert r["type"] == "result" and r["boxes"][0] == {"xyxy": [1, 2, 30, 40], "score": 0.9,
                                                      "label": "person", "class_id": 0,
                                                      "track_id": 7}
    assert r["latency_ms"] == 6.0 and r["stages_ms"]["infer_end"] == 1.0
    assert lines[-1]["type"] == "event" and lines[-1]["duration_s"] == 1.0
    assert [x["seq"] for x in lines[:-1]] == list(range(50))


class _Slow(Sink):
    name = "slow"

    def __init__(self):
        super().__init__(queue_size=5)
        self.got = []

    def write(self, r):
        time.sleep(0.05)
        self.got.append(r.seq)


def test_a_backed_up_sink_drops_and_counts_without_blocking_the_caller():
    s = _Slow()
    s.start()
    t = time.perf_counter()
    for i in range(100):
        s.publish(result(i))
    assert time.perf_counter() - t < 0.05  # publish never waits for the writer
    s.close()  # ... but close writes out everything that was queued
    assert s.dropped > 80 and len(s.got) + s.dropped == 100


def test_video_sink_writes_a_playable_annotated_mp4(tmp_path):
    p = tmp_path / "a.mp4"
    s = VideoSink(p)
    s.start()
    for i in range(12):
        s.publish(result(i, image=np.full((48, 64, 3), 20 * i % 255, np.uint8)))
    s.close()
    with av.open(str(p)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 12
    assert (frames[0].width, frames[0].height) == (64, 48)
    # The box was drawn: pixels on its edge differ from the flat background.
    img = frames[5].to_ndarray(format="rgb24")
    assert np.abs(img[2:40, 1].astype(int) - 100).max() > 40


def test_video_sink_writes_one_file_per_stream(tmp_path):
    s = VideoSink(tmp_path / "v.mp4", multi=True)
    s.start()
    for i in range(3):
        for cam in ("a", "b/c"):
            s.publish(result(i, cam, image=np.zeros((48, 64, 3), np.uint8)))
    s.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v_a.mp4", "v_b_c.mp4"]


def test_console_view_draws_each_streams_state_fps_latency_and_drops():
    import io

    from rich.console import Console

    from vlmstream.sinks.console import ConsoleView

    rows = [{"id": "door", "state": "live", "fps_recent": 9.8, "effective_fps": 10.0,
             "e2e_ms": {"p50": 21.0, "p95": 30.0, "p99": 41.0}, "frames_in": 300,
             "analysed": 98, "dropped": {"rate": 200, "stale": 2}, "last_error": None},
            {"id": "yard", "state": "reconnecting", "fps_recent": 0.0, "effective_fps": 5.0,
             "e2e_ms": {}, "frames_in": 10, "analysed": 3, "dropped": {},
             "last_error": "rtsp://cam/yard: connection refused"}]
    buf = io.StringIO()
    view = ConsoleView(lambda: rows, Console(file=buf, force_terminal=True, width=160),
                       refresh_s=0.05)
    import logging

    before = logging.getLogger().handlers[:]
    view.start()
    logging.getLogger("vlmstream.test").error("camera yard went away")
    time.sleep(0.3)
    view.close()
    assert logging.getLogger().handlers == before  # the terminal's own logging is back
    text = buf.getvalue()
    assert "camera yard went away" in text  # logged through the live view, not over it
    for needle in ("door", "live", "9.8", "41", "rate 200", "stale 2", "yard", "reconnecting",
                   "connection refused"):
        assert needle in text, needle


def test_only_consumers_that_draw_get_the_picture(tmp_path):
    """A backed-up JSONL writer must hold results, not frames."""
    from conftest import run_pipeline_for

    video = VideoSink(tmp_path / "v.mp4")
    jsonl = JsonlSink(tmp_path / "r.jsonl")
    seen = {"video": [], "jsonl": []}
    video.write = lambda r, _w=video.write: (seen["video"].append(r.image is not None), _w(r))
    jsonl.write = lambda r, _w=jsonl.write: (seen["jsonl"].append(r.image is not None), _w(r))
    run_pipeline_for(["synthetic://?size=160x120&fps=30"], seconds=1, sinks=[video, jsonl])
    assert seen["video"] and all(seen["video"])
    assert seen["jsonl"] and not any(seen["jsonl"])
