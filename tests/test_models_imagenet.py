"""The builtin EfficientNet-Lite0 backend: ImageNet classes and embeddings on real frames."""

from __future__ import annotations

import numpy as np
import pytest

from vlmstream.backends import BackendError, Task, create

pytest.importorskip("onnxruntime")

VANS = {"moving van", "minivan", "police van", "ambulance", "recreational vehicle", "minibus"}


@pytest.fixture(scope="module")
def net():
    backend = create("imagenet", top_k="5")
    yield backend
    backend.close()


def _van(frames):
    return frames[100][30:110, 630:735]  # the white van parked top right


def test_the_parked_van_is_a_van(net, vtest_frames):
    out = net.infer([_van(vtest_frames)], Task("classify"))[0]
    assert out.label in VANS and out.score > 0.3
    assert len(out.scores) == 5 and out.scores[out.label] == out.score


def test_words_group_imagenet_classes(net, vtest_frames):
    out = net.infer([_van(vtest_frames)], Task("classify", labels=("car", "dog", "cat")))[0]
    assert set(out.scores) == {"car", "dog", "cat"}
    assert out.label == "car" and out.scores["car"] > 10 * out.scores["dog"]


def test_embeddings_are_unit_and_near_frames_are_closer(net, vtest_frames):
    frame = vtest_frames[100]
    pictures = [frame, vtest_frames[101], frame[300:, :400], np.full_like(frame, (40, 90, 200))]
    outs = net.infer(pictures, Task("embed"))
    e = np.array([o.extra["embedding"] for o in outs])
    assert e.shape == (4, 1280)
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    near, grass, blue = e[0] @ e[1], e[0] @ e[2], e[0] @ e[3]
    assert near > 0.95 and near > grass + 0.2 and near > blue + 0.2


def test_a_batch_is_the_same_as_singles(net, vtest_frames):
    frames = [vtest_frames[i] for i in (100, 101, 102, 103)]
    batched = net.infer(frames, Task("embed"))
    for img, got in zip(frames, batched, strict=True):
        single = net.infer([img], Task("embed"))[0]
        assert np.allclose(got.extra["embedding"], single.extra["embedding"], atol=1e-4)


def test_wrong_task_is_refused(net):
    with pytest.raises(BackendError, match="does not do task 'detect'"):
        net.infer([np.zeros((32, 32, 3), np.uint8)], Task("detect"))
