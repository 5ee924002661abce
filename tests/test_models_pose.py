"""The builtin MoveNet multipose backend on the bundled pedestrian clip."""

from __future__ import annotations

import numpy as np
import pytest

from vlmstream.backends import BackendError, Task, create

pytest.importorskip("onnxruntime")

# Four walkers on frame 100 of vtest.mp4 big enough for MoveNet at 512 (checked by eye).
WALKERS = [(587, 154, 618, 235), (347, 201, 377, 273), (378, 177, 408, 258),
           (494, 153, 519, 219)]


@pytest.fixture(scope="module")
def pose():
    backend = create("pose", size="512", threshold="0.2")
    yield backend
    backend.close()


def _inside(x: float, y: float, region, pad: float = 8.0) -> bool:
    return region[0] - pad <= x <= region[2] + pad and region[1] - pad <= y <= region[3] + pad


def test_keypoints_of_each_walker_lie_on_that_walker(pose, vtest_frames):
    out = pose.infer([vtest_frames[100]], Task("pose"))[0]
    assert out.label == "person" and len(out.boxes) >= 3
    matched = 0
    for region in WALKERS:
        for b in out.boxes:
            cx, cy = (b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2
            if _inside(cx, cy, region, 0):
                matched += 1
                assert len(b.keypoints) == 17
                sure = [(x, y) for x, y, c in b.keypoints if c > 0.3]
                assert len(sure) >= 8
                assert all(_inside(x, y, region) for x, y in sure)
                assert all(_inside(x, y, (b.x1, b.y1, b.x2, b.y2)) for x, y in sure)
    assert matched >= 3


def test_keypoints_follow_the_picture_size(pose, vtest_frames):
    """A wide, padded copy of the frame gives the same people shifted by the padding."""
    img = vtest_frames[100]
    wide = np.zeros((576, 1152, 3), np.uint8)
    wide[:, 192:960] = img
    pose_wide = create("pose", size="768", threshold="0.2")  # same scale as 512 on 768 px
    a = pose.infer([img], Task("pose"))[0]
    b = pose_wide.infer([wide], Task("pose"))[0]
    pose_wide.close()
    best = max(a.boxes, key=lambda p: p.score)
    twin = min(b.boxes, key=lambda p: abs(p.x1 - 192 - best.x1) + abs(p.y1 - best.y1))
    assert abs(twin.x1 - 192 - best.x1) < 6 and abs(twin.y2 - best.y2) < 6


def test_a_batch_is_the_same_as_singles(pose, vtest_frames):
    frames = [vtest_frames[100], vtest_frames[200]]
    batched = pose.infer(frames, Task("pose"))
    for img, got in zip(frames, batched, strict=True):
        single = pose.infer([img], Task("pose"))[0]
        assert [b.keypoints for b in got.boxes] == [b.keypoints for b in single.boxes]


def test_default_size_runs_and_empty_pictures_have_nobody(vtest_frames):
    small = create("pose")
    assert small.size == 256
    out = small.infer([vtest_frames[100], np.zeros((240, 320, 3), np.uint8)], Task("pose"))
    assert len(out[0].boxes) >= 1
    assert out[1].boxes == [] and out[1].label == "none"
    small.close()
    with pytest.raises(BackendError, match="size must be an integer"):
        create("pose", size="big")
