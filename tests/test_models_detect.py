"""The builtin CenterNet detector on the bundled pedestrian clip (regions checked by eye on a
rendered frame 100)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vlmstream.backends import BackendError, Task, create

pytest.importorskip("onnxruntime")

# Six walkers on frame 100 of vtest.mp4, x1, y1, x2, y2 in its 768x576 pixels.
WALKERS = [(587, 154, 618, 235), (347, 201, 377, 273), (378, 177, 408, 258),
           (494, 153, 519, 219), (513, 158, 540, 219), (222, 60, 235, 94)]
VAN = (641, 40, 724, 100)


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def xyxy(box):
    return (box.x1, box.y1, box.x2, box.y2)


@pytest.fixture(scope="module")
def det():
    backend = create("detect", threshold="0.3", threads="2")
    yield backend
    backend.close()


def test_finds_the_walkers_where_they_are(det, vtest_frames):
    out = det.infer([vtest_frames[100]], Task("detect"))[0]
    people = [b for b in out.boxes if b.label == "person"]
    assert len(people) >= 6 and out.label == "person"
    assert out.extra["counts"]["person"] == len(people)
    for region in WALKERS:
        assert max(iou(region, xyxy(b)) for b in people) > 0.6, region
    assert any(iou(VAN, xyxy(b)) > 0.6 and b.label in ("car", "truck") for b in out.boxes)
    assert all(b.class_id is not None and b.score >= 0.3 for b in out.boxes)
    assert [b.score for b in out.boxes] == sorted((b.score for b in out.boxes), reverse=True)


def test_boxes_come_back_in_the_pictures_own_pixels(det, vtest_frames):
    """A half-size and a padded-to-wide copy give the same walkers at their own coordinates."""
    img = vtest_frames[100]
    half = cv2.resize(img, (384, 288), interpolation=cv2.INTER_AREA)
    wide = np.zeros((576, 1152, 3), np.uint8)
    wide[:, 192:960] = img
    out_half, out_wide = det.infer([half, wide], Task("detect"))
    for region in WALKERS[:5]:
        r_half = tuple(v / 2 for v in region)
        r_wide = (region[0] + 192, region[1], region[2] + 192, region[3])
        assert max(iou(r_half, xyxy(b)) for b in out_half.boxes) > 0.5, region
        assert max(iou(r_wide, xyxy(b)) for b in out_wide.boxes) > 0.5, region


def test_words_filter_the_classes(det, vtest_frames):
    img = vtest_frames[100]
    walkers = det.infer([img], Task("detect", labels=("pedestrian",)))[0]
    assert walkers.boxes and {b.label for b in walkers.boxes} == {"person"}
    vehicles = det.infer([img], Task("detect", labels=("vehicle",)))[0]
    assert vehicles.boxes and {b.label for b in vehicles.boxes} <= {"car", "truck", "bus",
                                                                    "motorcycle"}
    none = det.infer([img], Task("detect", labels=("giraffe",)))[0]
    assert none.boxes == [] and none.label == "none" and none.extra == {"counts": {}}


def test_batch_of_four_equals_four_singles(det, vtest_frames):
    frames = [vtest_frames[i] for i in (100, 101, 102, 200)]
    batched = det.infer(frames, Task("detect"))
    for img, got in zip(frames, batched, strict=True):
        single = det.infer([img], Task("detect"))[0]
        assert [b.label for b in got.boxes] == [b.label for b in single.boxes]
        assert np.allclose([xyxy(b) for b in got.boxes], [xyxy(b) for b in single.boxes],
                           atol=0.5)


def test_threshold_option_from_a_string(vtest_frames):
    strict = create("detect", threshold="0.5")
    out = strict.infer([vtest_frames[100]], Task("detect"))[0]
    assert out.boxes and all(b.score >= 0.5 for b in out.boxes)
    strict.close()


@pytest.mark.parametrize("opts, words", [({"threshold": "high"}, "threshold must be a number"),
                                         ({"threshold": "2"}, "between 0 and 1"),
                                         ({"treshold": "0.4"}, "no option(s) treshold"),
                                         ({"threads": "0"}, "threads must be 1 or more")])
def test_bad_options_are_named(opts, words):
    with pytest.raises(BackendError, match=words.replace("(", r"\(").replace(")", r"\)")):
        create("detect", **opts)


def test_wrong_task_and_bad_pictures_are_refused(det):
    with pytest.raises(BackendError, match="does not do task 'classify'"):
        det.infer([np.zeros((64, 64, 3), np.uint8)], Task("classify"))
    with pytest.raises(BackendError, match="HxWx3 uint8"):
        det.infer([np.zeros((64, 64), np.uint8)], Task("detect"))
