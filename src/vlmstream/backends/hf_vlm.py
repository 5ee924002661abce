"""Generative vision-language models from Hugging Face (PaliGemma, Idefics3/SmolVLM, Qwen2-VL):
closed-vocabulary classification by label scoring, captions and free questions by greedy
generation, batched across streams.

Classification scores every label instead of generating: one forward pass over image+prompt
(the shared prefix) for the whole batch, then one pass over all label continuations that reuses
the prefix's key/value cache. The answer is always one of the labels, with a probability, and
costs about one decoding step per label token instead of a free generate loop that may answer
off-vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vlmstream.backends import _hf
from vlmstream.backends.base import (
    BackendError,
    BackendOverloaded,
    Task,
    register,
    require_task_inputs,
)
from vlmstream.frames import Output

OnToken = Callable[[int, str], None]
"""Streaming hook: called with (index of the image in the batch, newly decoded text)."""

DEFAULT_PROMPTS = {"caption": "Describe the image in one sentence.",
                   "classify": "Which of these best describes the image: {labels}? "
                               "Answer with one of them."}


@dataclass(frozen=True, slots=True)
class Family:
    """How one model family wants its prompt and positions."""

    chat: bool  # wrap the prompt in the processor's chat template
    position_offset: int = 0  # PaliGemma counts positions from 1
    mrope: bool = False  # Qwen2-VL's 3-D rotary positions
    nested_images: bool = False  # processor wants one list of images per text
    prefix_token_types: bool = False  # PaliGemma attends bidirectionally over its prefix
    caption_prompt: str = DEFAULT_PROMPTS["caption"]


FAMILIES = {
    "paligemma": Family(chat=False, position_offset=1, prefix_token_types=True,
                        caption_prompt="caption en"),
    "idefics3": Family(chat=True, nested_images=True),
    "smolvlm": Family(chat=True, nested_images=True),
    "qwen2_vl": Family(chat=True, mrope=True),
    "qwen2_5_vl": Family(chat=True, mrope=True),
}


class HFVLMBackend:
    """Options (strings accepted): ``model``, ``device`` (auto/cpu/cuda[:n]), ``dtype``
    (auto/bf16/fp16/fp32), ``max_batch``, ``max_new_tokens`` (64), ``stop`` (stop strings,
    ``|``-separated), ``classify_mode`` (``score``, or ``generate`` for the naive
    generate-then-parse baseline), ``image_size`` (frames are shrunk so their short side is at
    most this before the processor; default 448), ``local_files_only``, ``on_token`` (a
    callable; ``task.options["on_token"]`` overrides it per task)."""

    name = "hf-vlm"
    tasks = frozenset({"classify", "caption", "ask"})

    def __init__(self, *, model: str = "", device: str = "auto", dtype: str = "auto",
                 max_batch: int | str = 8, max_new_tokens: int | str = 64,
                 stop: str | Sequence[str] | None = None, classify_mode: str = "score",
                 image_size: int | str = 448, local_files_only: bool | str = False,
                 on_token: OnToken | None = None, **_: object) -> None:
        torch, transformers = _hf.import_hf(self.name)
        self._torch = torch
        self._transformers = transformers
        self.max_batch = _hf.as_int(max_batch, "max_batch")
        self.max_new_tokens = _hf.as_int(max_new_tokens, "max_new_tokens")
        self.stop = _stop_list(stop)
        if classify_mode not in ("score", "generate"):
            raise BackendError(f"classify_mode must be 'score' or 'generate', got {classify_mode!r}")
        self.classify_mode = classify_mode
        self.image_size = _hf.as_int(image_size, "image_size")
        self.on_token = on_token
        offline = _hf.as_bool(local_files_only)
        config, source = _hf.load_config(transformers, model, offline)
        family = FAMILIES.get(config.model_type)
        if family is None:
            raise BackendError(
                f"{model!r} is a {config.model_type!r} model, which hf-vlm does not support; "
                f"supported families: {', '.join(sorted(FAMILIES))}. For CLIP/SigLIP use hf-clip")
        self.family = family
        self.device = _hf.resolve_device(torch, device)
        self.dtype = _hf.resolve_dtype(torch, dtype, self.device)
        try:
            self.model = transformers.AutoModelForImageTextToText.from_pretrained(
                source, dtype=self.dtype, local_files_only=offline).to(self.device).eval()
        except (OSError, ValueError) as e:
            raise BackendError(f"cannot load the weights of {model!r}: {e}") from e
        self.processor = _hf.load_processor(transformers, source, config.model_type, offline)
        self.tokenizer = self.processor.tokenizer
        self.tokenizer.padding_side = "left"  # generation and prefix scoring read the last column
        if family.chat and not getattr(self.processor, "chat_template", None):
            raise BackendError(f"{model!r} has no chat template; hf-vlm needs the instruction-"
                               "tuned checkpoint of this family")
        self._eos = self._eos_ids()
        self._labels: dict[tuple[str, tuple[str, ...]], list[list[int]]] = {}

    # ---- prompts -------------------------------------------------------------------------

    def _prompt(self, task: Task) -> str:
        if task.kind == "caption":
            return task.prompt or self.family.caption_prompt
        if task.kind == "ask":
            require_task_inputs(task)
            return str(task.prompt)
        template = task.prompt or DEFAULT_PROMPTS["classify"]
        return template.replace("{labels}", ", ".join(task.labels))

    def _prefix_text(self, prompt: str) -> str:
        """The text before the answer, image placeholder included."""
        if not self.family.chat:
            # PaliGemma's processor expands <image> and adds <bos> and the closing "\n".
            return self.processor.image_token + prompt
        return self.processor.apply_chat_template(_user_turn(prompt), add_generation_prompt=True)

    def _answer_ids(self, prompt: str, label: str) -> list[int]:
        """Token ids the model must produce to answer ``label``, end-of-answer token included,
        cut from the tokenised whole conversation so the boundary tokenises as in training."""
        tok = self.tokenizer
        if self.family.chat:
            prefix = self._prefix_text(prompt)
            full = self.processor.apply_chat_template(
                _user_turn(prompt) + [{"role": "assistant",
                                       "content": [{"type": "text", "text": label}]}])
        else:
            prefix = prompt + "\n"
            full = prefix + label + tok.eos_token
        head = tok(prefix, add_special_tokens=False)["input_ids"]
        whole = tok(full, add_special_tokens=False)["input_ids"]
        if full.startswith(prefix) and whole[:len(head)] == head:
            ids = whole[len(head):]
        else:
            ids = tok(label, add_special_tokens=False)["input_ids"]
        for i, t in enumerate(ids):
            if t in self._eos:
                return ids[:i + 1]
        return ids + [next(iter(self._eos))]

    def _eos_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.insert(0, self.tokenizer.eos_token_id)
        if not ids:
            raise BackendError("the checkpoint names no end-of-sequence token")
        return ids

    def _inputs(self, images: Sequence[np.ndarray], prompt: str) -> Any:
        small = [_hf.shrink(img, self.image_size) for img in images]
        text = self._prefix_text(prompt)
        imgs: list[Any] = [[im] for im in small] if self.family.nested_images else small
        inputs = self.processor(text=[text] * len(small), images=imgs, padding=True,
                                return_tensors="pt")
        inputs.pop("labels", None)  # PaliGemma's processor adds training labels
        inputs = inputs.to(self.device)
        for key in ("pixel_values", "pixel_values_videos"):
            if key in inputs:
                inputs[key] = inputs[key].to(self.dtype)
        return inputs

    # ---- inference -----------------------------------------------------------------------

    validate = staticmethod(require_task_inputs)  # checked when a stream is added

    def infer(self, images: Sequence[np.ndarray], task: Task,
              previous: Sequence[np.ndarray | None] | None = None) -> list[Output]:
        if task.kind not in self.tasks:
            raise BackendError(f"hf-vlm does not do task {task.kind!r}; it does: "
                               f"{', '.join(sorted(self.tasks))}")
        if not images:
            return []
        require_task_inputs(task)
        torch = self._torch
        try:
            with torch.inference_mode():
                if task.kind == "classify" and self._mode(task) == "score":
                    return self._classify_scored(images, task)
                texts = self._generate(images, task)
        except torch.OutOfMemoryError as e:
            raise BackendOverloaded(f"hf-vlm ran out of GPU memory on a batch of {len(images)}; "
                                    "lower max_batch or image_size") from e
        if task.kind == "classify":
            return [Output(label=parse_label(t, task.labels), text=t) for t in texts]
        return [Output(text=t) for t in texts]

    def _mode(self, task: Task) -> str:
        return str(task.options.get("classify_mode", self.classify_mode))

    def _classify_scored(self, images: Sequence[np.ndarray], task: Task) -> list[Output]:
        logp = self.label_log_likelihoods(images, task)
        probs = logp.softmax(dim=-1).cpu().numpy()
        outs = []
        for row, lrow in zip(probs, logp.cpu().numpy()):
            best = int(row.argmax())
            outs.append(Output(label=task.labels[best], score=float(row[best]),
                               scores={lab: float(p) for lab, p in zip(task.labels, row)},
                               extra={"log_likelihood": {lab: float(v) for lab, v in
                                                         zip(task.labels, lrow)}}))
        return outs

    def label_log_likelihoods(self, images: Sequence[np.ndarray], task: Task) -> Any:
        """Log P(answer = label | image, prompt) for every image and label, shape (B, L).

        The sum of the label's token log-probabilities, end-of-answer token included, not
        length-normalised: the end token makes the labels complete, mutually exclusive answers,
        so a softmax over these sums is the model's own distribution restricted to the labels.
        """
        with self._torch.inference_mode():
            return self._label_log_likelihoods(images, task)

    def _label_log_likelihoods(self, images: Sequence[np.ndarray], task: Task) -> Any:
        torch = self._torch
        prompt = self._prompt(task)
        answers = self._label_ids(prompt, task.labels)
        n_img, n_lab = len(images), len(answers)
        inputs = self._inputs(images, prompt)
        mask = inputs["attention_mask"]
        extra: dict[str, Any] = {}
        if self.family.mrope:
            pos, _ = self.model.model.get_rope_index(
                inputs["input_ids"], mm_token_type_ids=inputs["mm_token_type_ids"],
                image_grid_thw=inputs.get("image_grid_thw"), attention_mask=mask)
            extra["position_ids"] = pos
            last = pos[0, :, -1]  # left padding: the last column is the prompt's last token
        else:
            pos = (mask.long().cumsum(-1) - 1).clamp(min=0) + self.family.position_offset
            extra["position_ids"] = pos
            last = pos[:, -1]
        if not self.family.prefix_token_types:
            inputs.pop("token_type_ids", None)
        out = self.model(**inputs, **extra, use_cache=True, logits_to_keep=1)
        first = out.logits[:, -1].float().log_softmax(-1)  # (B, V): first answer token

        width = max(len(a) for a in answers)
        ids = torch.full((n_lab, width), self.tokenizer.pad_token_id or 0, dtype=torch.long)
        valid = torch.zeros((n_lab, width), dtype=torch.long)
        for i, a in enumerate(answers):
            ids[i, :len(a)] = torch.tensor(a)
            valid[i, :len(a)] = 1
        ids, valid = ids.to(self.device), valid.to(self.device)
        score = first[:, ids[:, 0]]  # (B, L)
        if width > 1:
            cache = out.past_key_values
            cache.batch_repeat_interleave(n_lab)  # row b*L + l: image b, label l
            step_ids = ids[:, :-1].repeat(n_img, 1)
            step_mask = torch.cat([mask.repeat_interleave(n_lab, 0),
                                   valid[:, :-1].repeat(n_img, 1)], dim=1)
            step_pos = (last.repeat_interleave(n_lab, 0)[:, None] + 1
                        + torch.arange(width - 1, device=self.device)[None, :])
            out2 = self.model(input_ids=step_ids, attention_mask=step_mask, position_ids=step_pos,
                              past_key_values=cache, use_cache=True)
            logp = out2.logits.float().log_softmax(-1)  # (B*L, W-1, V)
            target = ids[:, 1:].repeat(n_img, 1)
            tok_lp = logp.gather(-1, target[..., None])[..., 0] * valid[:, 1:].repeat(n_img, 1)
            score = score + tok_lp.sum(-1).view(n_img, n_lab)
        return score

    def _label_ids(self, prompt: str, labels: tuple[str, ...]) -> list[list[int]]:
        key = (prompt, labels)
        if key not in self._labels:
            if len(self._labels) >= 32:
                self._labels.pop(next(iter(self._labels)))
            self._labels[key] = [self._answer_ids(prompt, lab) for lab in labels]
        return self._labels[key]

    def _generate(self, images: Sequence[np.ndarray], task: Task) -> list[str]:
        """Greedy decoding; classify in generate mode is capped at 10 new tokens."""
        prompt = self._prompt(task)
        inputs = self._inputs(images, prompt)
        if task.kind == "classify":
            max_new = 10
        else:
            max_new = _hf.as_int(task.options.get("max_new_tokens", self.max_new_tokens),
                                 "max_new_tokens")
        stop = _stop_list(task.options["stop"]) if "stop" in task.options else self.stop
        on_token = task.options.get("on_token", self.on_token)
        kwargs: dict[str, Any] = {"max_new_tokens": max_new, "do_sample": False,
                                  "num_beams": 1, "pad_token_id": self.tokenizer.pad_token_id}
        if stop:
            kwargs["stopping_criteria"] = self._transformers.StoppingCriteriaList(
                [_stop_on_text(self._torch, self._transformers, self.tokenizer,
                               inputs["input_ids"].shape[1], stop)])
        if on_token is not None:
            kwargs["streamer"] = BatchTextStreamer(self.tokenizer, len(images), on_token,
                                                   self._eos)
        out = self.model.generate(**inputs, **kwargs)
        new = out[:, inputs["input_ids"].shape[1]:]
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return [_cut_at_stop(t, stop).strip() for t in texts]

    def close(self) -> None:
        self._labels.clear()
        self.model = None
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()


class BatchTextStreamer:
    """Streams each image's new text to ``on_token(index, piece)`` as generate produces it.

    transformers' TextStreamer only handles a batch of one; this keeps one token list per row,
    decodes it whole each step and emits the new suffix, so multi-token characters arrive
    complete. Rows that reached an end token stay silent while the others finish.
    """

    def __init__(self, tokenizer: Any, batch: int, on_token: OnToken, eos: Sequence[int]) -> None:
        self.tokenizer = tokenizer
        self.on_token = on_token
        self.eos = set(eos)
        self.tokens: list[list[int]] = [[] for _ in range(batch)]
        self.sent = [""] * batch
        self.done = [False] * batch
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate first pushes the prompt
            self.prompt_seen = True
            return
        for i, tok in enumerate(value.reshape(len(self.tokens), -1)[:, -1].tolist()):
            if self.done[i]:
                continue
            if tok in self.eos:
                self.done[i] = True
                continue
            self.tokens[i].append(tok)
            text = self.tokenizer.decode(self.tokens[i], skip_special_tokens=True)
            if text.endswith("\ufffd"):  # an incomplete multi-byte character: wait for the rest
                continue
            piece, self.sent[i] = text[len(self.sent[i]):], text
            if piece:
                self.on_token(i, piece)

    def end(self) -> None:
        self.done = [True] * len(self.done)


def parse_label(text: str, labels: Sequence[str]) -> str:
    """The label a free answer names: an exact case-insensitive match, else the longest label
    found as whole words in the answer, else ``unknown``."""
    answer = text.strip().strip(".!?\"' ").lower()
    for label in labels:
        if answer == label.lower():
            return label
    for label in sorted(labels, key=len, reverse=True):
        if re.search(rf"\b{re.escape(label.lower())}\b", answer):
            return label
    return "unknown"


def _user_turn(prompt: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]


def _stop_list(stop: str | Sequence[str] | None) -> list[str]:
    if not stop:
        return []
    if isinstance(stop, str):
        return [s for s in stop.split("|") if s]
    return [str(s) for s in stop]


def _stop_on_text(torch: Any, transformers: Any, tokenizer: Any, prompt_len: int,
                  stop: Sequence[str]) -> Any:
    """Stop a row once its decoded answer contains a stop string. Decoding the answer each
    step works with any tokenizer, unlike transformers' stop_strings, which scans the whole
    vocabulary and needs a byte-level or sentencepiece one."""

    class StopOnText(transformers.StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            texts = tokenizer.batch_decode(input_ids[:, prompt_len:], skip_special_tokens=True)
            hits = [any(s in t for s in stop) for t in texts]
            return torch.tensor(hits, dtype=torch.bool, device=input_ids.device)

    return StopOnText()


def _cut_at_stop(text: str, stop: Sequence[str]) -> str:
    cut = min((i for s in stop if (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


@register("hf-vlm")
def _make(**options: object) -> HFVLMBackend:
    return HFVLMBackend(**options)  # type: ignore[arg-type]
