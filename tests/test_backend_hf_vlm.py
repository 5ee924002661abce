"""hf-vlm on tiny random PaliGemma, Idefics3 and Qwen2-VL checkpoints written to disk."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402
from tiny_models import build_tiny_clip, build_tiny_vlm  # noqa: E402

from vlmstream.backends import create  # noqa: E402
from vlmstream.backends.base import BackendError, Task  # noqa: E402
from vlmstream.backends.hf_vlm import HFVLMBackend, parse_label  # noqa: E402

pytestmark = pytest.mark.timeout(60)

FAMILIES = ("paligemma", "idefics3", "qwen2_vl")
LABELS = ("cat", "dog", "red car")
PROMPT = "what is in this image ? cat , dog , red car"


@pytest.fixture(scope="module")
def backends(tmp_path_factory) -> dict[str, HFVLMBackend]:
    root = tmp_path_factory.mktemp("vlm")
    return {f: create("hf-vlm", model=str(build_tiny_vlm(root / f, f)), device="auto",
                      dtype="fp32", max_batch="4", local_files_only="true")
            for f in FAMILIES}


def _images(n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    shapes = [(48, 64), (64, 48), (40, 40), (30, 50)]  # different sizes exercise padding
    return [rng.integers(0, 256, (*shapes[i % 4], 3), dtype=np.uint8) for i in range(n)]


def _brute_force(b: HFVLMBackend, image: np.ndarray, label: str) -> float:
    """Sum of the label's token log-probs from one full forward pass over prompt + answer."""
    proc, model = b.processor, b.model
    if not b.family.chat:  # PaliGemma: the processor marks the answer (suffix) tokens
        inputs = proc(text="<image>" + PROMPT, images=[image], suffix=[label], return_tensors="pt")
        answer = inputs.pop("labels")[0] != -100
        ids = inputs["input_ids"][0]
    else:
        turn = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT}]}]
        prefix = proc.apply_chat_template(turn, add_generation_prompt=True)
        full = proc.apply_chat_template(turn + [{"role": "assistant", "content": [
            {"type": "text", "text": label}]}])
        eos = b.tokenizer.eos_token
        full = full[:full.index(eos, len(prefix)) + len(eos)]
        imgs = [[image]] if b.family.nested_images else [image]
        n_prefix = proc(text=[prefix], images=imgs, return_tensors="pt")["input_ids"].shape[1]
        inputs = proc(text=[full], images=imgs, return_tensors="pt")
        ids = inputs["input_ids"][0]
        answer = torch.arange(len(ids)) >= n_prefix
    with torch.no_grad():
        logp = model(**inputs).logits[0].float().log_softmax(-1)
    pos = answer.nonzero()[:, 0]
    return float(logp[pos - 1, ids[pos]].sum())


@pytest.mark.parametrize("family", FAMILIES)
def test_label_scores_equal_brute_force_per_label_loss(backends, family):
    b = backends[family]
    images = _images(2)
    task = Task("classify", labels=LABELS, prompt=PROMPT)
    got = b.label_log_likelihoods(images, task).cpu().numpy()
    want = np.array([[_brute_force(b, img, lab) for lab in LABELS] for img in images])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    outs = b.infer(images, task)
    for o, row in zip(outs, want):
        probs = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
        assert o.label == LABELS[int(row.argmax())]
        np.testing.assert_allclose([o.scores[lab] for lab in LABELS], probs, atol=1e-5)
        assert o.score == pytest.approx(probs.max(), abs=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_batch_of_three_equals_three_singles_and_is_deterministic(backends, family):
    b = backends[family]
    images = _images(3)
    task = Task("classify", labels=LABELS, prompt=PROMPT)
    batch = b.infer(images, task)
    singles = [b.infer([img], task)[0] for img in images]
    for x, y in zip(batch, singles):
        assert x.label == y.label
        np.testing.assert_allclose(list(x.scores.values()), list(y.scores.values()), atol=1e-5)
    assert [o.scores for o in b.infer(images, task)] == [o.scores for o in batch]


@pytest.mark.parametrize("family", FAMILIES)
def test_captions_batch_equals_singles(backends, family):
    b = backends[family]
    images = _images(3)
    task = Task("caption", options={"max_new_tokens": 6})
    batch = [o.text for o in b.infer(images, task)]
    assert batch == [b.infer([img], task)[0].text for img in images]
    assert batch == [o.text for o in b.infer(images, task)]


@pytest.mark.parametrize("family", FAMILIES)
def test_generate_mode_answers_a_label_or_unknown(backends, family):
    b = backends[family]
    task = Task("classify", labels=LABELS, prompt=PROMPT, options={"classify_mode": "generate"})
    for o in b.infer(_images(2), task):
        assert isinstance(o.text, str)
        assert o.label == parse_label(o.text, LABELS)
        assert o.label in LABELS + ("unknown",)


def test_parse_label():
    assert parse_label(" Red car.", LABELS) == "red car"
    assert parse_label("I think it is a dog", LABELS) == "dog"
    assert parse_label("a catalogue", LABELS) == "unknown"


def test_token_streaming_matches_final_text(backends):
    b = backends["qwen2_vl"]
    pieces: dict[int, list[str]] = {}
    task = Task("ask", prompt="describe the picture",
                options={"max_new_tokens": 6,
                         "on_token": lambda i, p: pieces.setdefault(i, []).append(p)})
    outs = b.infer(_images(2), task)
    assert any(o.text for o in outs)
    for i, o in enumerate(outs):
        assert "".join(pieces.get(i, [])).strip() == o.text


def test_stop_strings_end_the_answer(backends):
    b = backends["qwen2_vl"]
    image = _images(1)
    text = b.infer(image, Task("caption", options={"max_new_tokens": 8}))[0].text
    words = text.split()
    assert len(words) >= 2, text
    stop = words[1]
    cut = b.infer(image, Task("caption", options={"max_new_tokens": 8, "stop": stop}))[0].text
    assert cut == text[:text.index(stop)].strip()


def test_ask_needs_a_prompt_and_classify_needs_labels(backends):
    b = backends["idefics3"]
    with pytest.raises(BackendError, match="prompt"):
        b.infer(_images(1), Task("ask"))
    with pytest.raises(BackendError, match="labels"):
        b.infer(_images(1), Task("classify"))


def test_bad_path_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError, match="does not exist"):
        create("hf-vlm", model=str(tmp_path / "nowhere"))
    with pytest.raises(BackendError, match="no config.json"):
        create("hf-vlm", model=str(tmp_path))


def test_unsupported_architecture_is_a_clear_error(tmp_path):
    clip = build_tiny_clip(tmp_path / "clip")
    with pytest.raises(BackendError, match="does not support.*hf-clip"):
        create("hf-vlm", model=str(clip), local_files_only="true")


def test_missing_extra_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(BackendError, match=r"pip install 'vlmstream\[hf\]'"):
        create("hf-vlm", model="anything")
    with pytest.raises(BackendError, match=r"pip install 'vlmstream\[hf\]'"):
        create("hf-clip", model="anything")


def test_gpu_benchmark_smoke_runs_on_tiny_models(tmp_path, capsys):
    import json

    from vlmstream.bench import vlm_gpu

    out = tmp_path / "bench.json"
    assert vlm_gpu.main(["--tiny", "--batches", "1,2", "--iters", "1", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    modes = {(r["model"], r["mode"]) for r in rows}
    assert ("siglip", "clip-classify") in modes
    for fam in FAMILIES:
        assert {(fam, "label-scoring"), (fam, "generate-parse")} <= modes
    assert all(r["images_per_s"] > 0 for r in rows)
    assert "| model | mode | batch |" in capsys.readouterr().out
