import time

import numpy as np
import pytest

from vlmstream.sources import SourceError, create_source


def test_file_source_decodes_every_frame_resized(small_video):
    src = create_source(str(small_video), realtime=False, size="160x120")
    info = src.open()
    assert (info.codec, info.width, info.height, round(info.fps)) == ("h264", 320, 240, 30)
    frames = list(src.frames())
    src.close()
    assert len(frames) == 60
    assert frames[0].image.shape == (120, 160, 3) and frames[0].image.dtype == np.uint8
    assert [round(f.pts * 30) for f in frames] == list(range(60))


def test_file_source_paces_in_real_time(small_video):
    src = create_source(str(small_video), realtime=True)
    src.open()
    t = time.perf_counter()
    n = sum(1 for _ in src.frames())
    assert n == 60 and time.perf_counter() - t >= 1.8  # 60 frames at 30 fps = 2 s


def test_file_source_loops_with_increasing_pts(small_video):
    src = create_source(str(small_video), realtime=False, loop=True)
    src.open()
    pts = []
    for d in src.frames():
        pts.append(d.pts)
        if len(pts) == 150:
            break
    assert all(b > a for a, b in zip(pts, pts[1:]))


@pytest.mark.parametrize("content,needle", [
    (None, "file not found"),
    (b"definitely not a video" * 100, "not a video"),
    (bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8)), "not a video"),
])
def test_bad_files_get_a_clear_message_naming_the_source(tmp_path, content, needle):
    p = tmp_path / "input.mp4"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(SourceError) as e:
        create_source(str(p), realtime=False).open()
    assert needle in str(e.value) and str(p) in str(e.value)


def test_file_with_a_corrupt_stretch_keeps_decoding_after_it(tmp_path):
    import av

    ts = tmp_path / "c.ts"
    w, h = 320, 240
    with av.open(str(ts), "w", format="mpegts") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"g": "15"}
        for i in range(150):
            img = np.full((h, w, 3), 30, np.uint8)
            img[100:140, (i * 4) % 280:(i * 4) % 280 + 40] = 255
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    b = bytearray(ts.read_bytes())
    rng = np.random.default_rng(1)
    b[len(b) // 3: len(b) // 3 + 20_000] = rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    bad = tmp_path / "corrupt.ts"
    bad.write_bytes(bytes(b))
    src = create_source(str(bad), realtime=False)
    src.open()
    frames = list(src.frames())
    assert 40 < len(frames) < 150  # lost the stretch, kept the rest
    assert frames[-1].pts > 4.5  # decoding carried on to the end of the file
    assert src.counters.corrupt_packets >= 1


def test_unknown_scheme_lists_the_known_ones():
    with pytest.raises(SourceError, match="unknown source scheme 'foo'.*synthetic://"):
        create_source("foo://bar")


def test_synthetic_source_draws_its_clock_and_cuts_scenes():
    src = create_source("synthetic://?size=160x120&fps=50&duration=2&cut_every=1", realtime=False)
    info = src.open()
    assert (info.width, info.height, info.fps) == (160, 120, 50)
    frames = list(src.frames())
    assert len(frames) == 100
    assert all(f.capture_ts is not None for f in frames)
    # Consecutive frames differ a little; across the cut at 1 s they differ a lot.
    d = [np.abs(a.image.astype(int) - b.image.astype(int)).mean() for a, b in zip(frames, frames[1:])]
    assert int(np.argmax(d)) == 49 and max(d) > 5 * np.median(d)


@pytest.mark.parametrize("uri,needle", [
    ("synthetic://?pattern=spiral", "unknown pattern"),
    ("synthetic://?colour=red", "unknown synthetic option"),
    ("synthetic://?fps=abc", "bad synthetic option"),
    ("synthetic://?size=641x360", "must be positive and even"),
])
def test_synthetic_options_are_checked(uri, needle):
    with pytest.raises(SourceError, match=needle):
        create_source(uri)


def test_static_pattern_does_not_move():
    src = create_source("synthetic://?size=160x120&fps=10&duration=1&pattern=static", realtime=False)
    src.open()
    a, *_, b = list(src.frames())
    # Only the drawn clock text may differ.
    assert np.abs(a.image[40:].astype(int) - b.image[40:].astype(int)).max() == 0

