"""hf-clip on tiny random CLIP and SigLIP checkpoints written to disk."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402
from tiny_models import build_tiny_clip, build_tiny_siglip, build_tiny_vlm  # noqa: E402

from vlmstream.backends import create  # noqa: E402
from vlmstream.backends.base import BackendError, Task  # noqa: E402

pytestmark = pytest.mark.timeout(60)

LABELS = ("cat", "dog", "red car")


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("clip")
    return {"clip": build_tiny_clip(root / "clip"), "siglip": build_tiny_siglip(root / "siglip")}


@pytest.fixture(scope="module")
def backends(dirs):
    return {k: create("hf-clip", model=str(d), dtype="fp32", max_batch="8",
                      local_files_only="true") for k, d in dirs.items()}


def _images(n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (48 + 8 * i, 64, 3), dtype=np.uint8) for i in range(n)]


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_scores_equal_the_models_own_forward(backends, kind):
    """Cached label embeddings + our scoring == the model's logits_per_image, softmax for
    CLIP and sigmoid (with logit_bias) for SigLIP."""
    b = backends[kind]
    rng = np.random.default_rng(5)  # short side 32 = model side, so no pre-shrink happens
    images = [rng.integers(0, 256, (32, 40 + 8 * i, 3), dtype=np.uint8) for i in range(2)]
    outs = b.infer(images, Task("classify", labels=LABELS))
    texts = [f"a photo of {lab}." for lab in LABELS]
    padding = "max_length" if kind == "siglip" else True
    tokens = b.processor.tokenizer(texts, padding=padding, max_length=16, return_tensors="pt")
    pixels = b.processor(images=images, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        logits = b.model(**tokens, pixel_values=pixels).logits_per_image
    want = torch.sigmoid(logits) if kind == "siglip" else logits.softmax(-1)
    for o, row in zip(outs, want.numpy()):
        np.testing.assert_allclose([o.scores[lab] for lab in LABELS], row, atol=1e-5)
        assert o.label == LABELS[int(row.argmax())]
        assert o.score == pytest.approx(float(row.max()), abs=1e-5)


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_batch_equals_singles_and_is_deterministic(backends, kind):
    b = backends[kind]
    images = _images(3)
    task = Task("classify", labels=LABELS)
    batch = b.infer(images, task)
    singles = [b.infer([img], task)[0] for img in images]
    for x, y in zip(batch, singles):
        assert x.label == y.label
        np.testing.assert_allclose(list(x.scores.values()), list(y.scores.values()), atol=1e-5)
    assert [o.scores for o in b.infer(images, task)] == [o.scores for o in batch]


def test_label_embeddings_are_cached_per_labels_and_template(backends):
    b = backends["clip"]
    b.infer(_images(1), Task("classify", labels=LABELS))
    b.infer(_images(2), Task("classify", labels=LABELS))
    assert (LABELS, "a photo of {}.") in b._labels
    other = b.infer(_images(1), Task("classify", labels=LABELS,
                                     options={"template": "a picture of a {}"}))[0]
    assert (LABELS, "a picture of a {}") in b._labels
    assert other.scores != b.infer(_images(1), Task("classify", labels=LABELS))[0].scores


def test_embed_returns_unit_numpy_vectors(backends):
    outs = backends["siglip"].infer(_images(2), Task("embed"))
    for o in outs:
        e = o.extra["embedding"]
        assert isinstance(e, np.ndarray) and e.shape == (32,)
        assert np.linalg.norm(e) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_image_size_changes_the_input_resolution(dirs, kind):
    small = create("hf-clip", model=str(dirs[kind]), image_size="16", local_files_only="1")
    inputs = small.processor(images=_images(1), return_tensors="pt")
    assert inputs["pixel_values"].shape[-2:] == (16, 16)
    out = small.infer(_images(2), Task("classify", labels=LABELS))
    assert all(o.label in LABELS for o in out)


def test_errors_are_clear(tmp_path, backends):
    with pytest.raises(BackendError, match="does not exist"):
        create("hf-clip", model=str(tmp_path / "missing"))
    vlm = build_tiny_vlm(tmp_path / "pg", "paligemma")
    with pytest.raises(BackendError, match="hf-vlm"):
        create("hf-clip", model=str(vlm), local_files_only="true")
    with pytest.raises(BackendError, match="labels"):
        backends["clip"].infer(_images(1), Task("classify"))
    with pytest.raises(BackendError, match="template"):
        create("hf-clip", model=str(tmp_path), template="no slot")
