"""The main job on the bundled clip: detection + tracking + counting, end to end."""

import json
import subprocess
import sys
from importlib import resources

import av
import numpy as np

from vlmstream.backends import Task, create
from vlmstream.temporal import ObjectTracker


def clip_frames(start: int, count: int) -> list[np.ndarray]:
    out = []
    with resources.as_file(resources.files("vlmstream") / "data" / "vtest.mp4") as path:
        with av.open(str(path)) as c:
            for i, f in enumerate(c.decode(video=0)):
                if i >= start:
                    out.append(f.to_ndarray(format="rgb24"))
                if len(out) == count:
                    break
    return out


def iou(a, b) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_a_walking_person_keeps_one_id_across_frames():
    det = create("detect")
    tracker = ObjectTracker("vtest")
    frames = clip_frames(114, 25)
    # The walker in black at frame 116 (hand-checked), who walks left to right.
    target = (468, 190, 503, 287)
    ids = []
    for k, img in enumerate(frames):
        (out,) = det.infer([img], Task("detect", ("person",)))
        tracker.update(out, ts=k / 10, seq=k, size=(img.shape[1], img.shape[0]))
        if k == 2:
            best = max(out.boxes, key=lambda b: iou((b.x1, b.y1, b.x2, b.y2), target))
            assert iou((best.x1, best.y1, best.x2, best.y2), target) > 0.5
            tid, last = best.track_id, best
            assert tid is not None
        elif k > 2:
            prev = (last.x1, last.y1, last.x2, last.y2)
            best = max(out.boxes, key=lambda b: iou((b.x1, b.y1, b.x2, b.y2), prev))
            ids.append(best.track_id)
            last = best
    assert ids.count(tid) >= 0.9 * len(ids), ids
    assert last.x1 > target[0] + 20  # the person really moved, and the id followed


def test_vlmstream_run_with_no_source_does_the_main_job(tmp_path):
    p = subprocess.run([sys.executable, "-m", "vlmstream", "run", "--fast", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    lines = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    rs = [r for r in lines if r["type"] == "result"]
    assert len(rs) >= 250 and all(r["task"] == "detect" for r in rs)
    people = [b for r in rs for b in r["boxes"] if b["label"] == "person"]
    assert sum("track_id" in b for b in people) > 0.6 * len(people)
    assert max(r["extra"]["unique"].get("person", 0) for r in rs) >= 8
    with av.open(str(tmp_path / "annotated.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == len(rs)
    assert json.loads((tmp_path / "metrics.json").read_text())["e2e_ms"]["p99"] is not None
    assert "end to end" in p.stderr


def test_anonymize_pixelates_people_in_the_output_video(tmp_path):
    """Motion task (no person boxes of its own): the person detector runs just for privacy."""
    out = tmp_path / "o"
    clip = resources.files("vlmstream") / "data" / "vtest.mp4"
    args = [sys.executable, "-m", "vlmstream", "run", str(clip), "--fast", "--fps", "10",
            "--drop-policy", "oldest", "--duration", "6", "--out", str(out)]
    plain = subprocess.run(args + ["--video", str(out / "plain.mp4")], capture_output=True,
                           text=True, timeout=300)
    anon = subprocess.run(args + ["--video", str(out / "anon.mp4"), "--anonymize"],
                          capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0 and anon.returncode == 0, anon.stderr[-2000:]

    def frame(path, k):
        with av.open(str(path)) as c:
            for i, f in enumerate(c.decode(video=0)):
                if i == k:
                    return f.to_ndarray(format="rgb24").astype(int)

    a, b = frame(out / "plain.mp4", 20), frame(out / "anon.mp4", 20)
    (people,) = create("detect").infer([a.astype(np.uint8)], Task("detect", ("person",)))
    boxes = [bx for bx in people.boxes if bx.score > 0.5]
    assert boxes
    for bx in boxes:  # every confident person differs, as blocks
        x1, y1, x2, y2 = (int(v) for v in (bx.x1, bx.y1, bx.x2, bx.y2))
        assert np.abs(a[y1:y2, x1:x2] - b[y1:y2, x1:x2]).mean() > 3
    # Away from people (the grass at the bottom left) the pictures agree.
    assert np.abs(a[450:560, 0:60] - b[450:560, 0:60]).mean() < 2
