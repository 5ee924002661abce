import numpy as np

from vlmstream.frames import Box, Output, Result, StageTimes
from vlmstream.privacy import Anonymizer, pixelate


def noisy(h=120, w=160):
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_pixelate_destroys_detail_inside_boxes_only():
    img = noisy()
    out = pixelate(img, [Box(40, 30, 100, 90, 0.9, "person")], block=12, pad=0.0)
    inside, outside = out[30:90, 40:100], out[:, 110:]
    assert np.array_equal(outside, img[:, 110:])
    # Inside: 12x12 blocks of one colour, so neighbouring pixels mostly agree.
    assert (np.abs(np.diff(inside.astype(int), axis=1)) == 0).mean() > 0.8
    assert img is not out and np.array_equal(img, noisy())  # the original is untouched


def test_anonymizer_uses_person_boxes_of_detect_results_and_leaves_other_classes():
    img = noisy()
    r = Result("cam", 0, 0.0, None, 0.0, "detect", "detect",
               Output(boxes=[Box(0, 0, 50, 50, 0.9, "person", 0), Box(100, 60, 150, 110, 0.9,
                                                                     "car", 2)]),
               StageTimes(), 160, 120, image=img)
    Anonymizer().apply(r)
    assert not np.array_equal(r.image[:50, :50], img[:50, :50])
    assert np.array_equal(r.image[70:100, 110:140], img[70:100, 110:140])
