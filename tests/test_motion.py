import numpy as np

from vlmstream.backends import Task, create


def scene(x: int) -> np.ndarray:
    img = np.full((360, 640, 3), 40, np.uint8)
    img[150:210, x:x + 60] = 240
    return img


def test_moving_square_is_boxed_and_still_scene_is_still():
    m = create("motion")
    a, b = scene(100), scene(160)
    (first,) = m.infer([a], Task("motion"), [None])
    (moved,) = m.infer([b], Task("motion"), [a])
    (same,) = m.infer([b.copy()], Task("motion"), [b])
    assert first.label == "still" and first.extra["first"]
    assert moved.label == "motion" and moved.boxes
    x1 = min(bx.x1 for bx in moved.boxes)
    x2 = max(bx.x2 for bx in moved.boxes)
    assert 80 <= x1 <= 110 and 210 <= x2 <= 240  # covers where the square was and went
    assert same.label == "still" and same.score == 0.0


def test_scene_cut_is_flagged_without_boxes():
    m = create("motion")
    a = scene(100)
    b = np.full_like(a, 200)
    b[::7] = 0
    (out,) = m.infer([b], Task("motion"), [a])
    assert out.extra["scene_cut"] and out.boxes == []


def test_cached_grey_of_the_previous_picture_gives_the_same_answer():
    cached, fresh = create("motion"), create("motion")
    a, b = scene(100), scene(130)
    cached.infer([a], Task("motion"), [None])  # `a` is remembered
    (x,) = cached.infer([b], Task("motion"), [a])
    (y,) = fresh.infer([b], Task("motion"), [a.copy()])  # nothing cached
    assert x.score == y.score and [(bx.x1, bx.x2) for bx in x.boxes] == [
        (bx.x1, bx.x2) for bx in y.boxes]
