"""Zero-shot classification and image embeddings with any Hugging Face CLIP, SigLIP or SigLIP2
checkpoint (hub id or local folder).

Label texts are embedded once per (labels, template) and cached, so a stream's steady state
costs one batched image encoder pass. CLIP scores are a softmax over labels (the labels
compete); SigLIP scores are independent sigmoids with the model's logit_bias, as trained.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from vlmstream.backends import _hf
from vlmstream.backends.base import BackendError, Task, register, require_task_inputs
from vlmstream.frames import Output

_SIGMOID_TYPES = ("siglip", "siglip2")
_SUPPORTED_TYPES = ("clip", "siglip", "siglip2", "metaclip_2")
_LABEL_CACHE_SIZE = 32


class HFClipBackend:
    """Options (strings accepted): ``model``, ``device`` (auto/cpu/cuda[:n]), ``dtype``
    (auto/bf16/fp16/fp32), ``max_batch``, ``template`` (``{}`` is replaced by the label),
    ``image_size`` (input side in pixels: smaller is faster; positional embeddings are
    interpolated), ``local_files_only``."""

    name = "hf-clip"
    tasks = frozenset({"classify", "embed"})

    def __init__(self, *, model: str = "", device: str = "auto", dtype: str = "auto",
                 max_batch: int | str = 32, template: str = "a photo of {}.",
                 image_size: int | str | None = None, local_files_only: bool | str = False,
                 **_: object) -> None:
        torch, transformers = _hf.import_hf(self.name)
        self._torch = torch
        self.max_batch = _hf.as_int(max_batch, "max_batch")
        if "{}" not in template:
            raise BackendError(f"template {template!r} must contain {{}} where the label goes")
        self.template = template
        offline = _hf.as_bool(local_files_only)
        config, source = _hf.load_config(transformers, model, offline)
        if config.model_type not in _SUPPORTED_TYPES:
            raise BackendError(
                f"{model!r} is a {config.model_type!r} model; hf-clip runs dual encoders "
                f"({', '.join(_SUPPORTED_TYPES)}); use hf-vlm for generative models")
        self.device = _hf.resolve_device(torch, device)
        self.dtype = _hf.resolve_dtype(torch, dtype, self.device)
        self.sigmoid = config.model_type in _SIGMOID_TYPES
        self.model = transformers.AutoModel.from_pretrained(
            source, dtype=self.dtype, local_files_only=offline).to(self.device).eval()
        self.processor = transformers.AutoProcessor.from_pretrained(source,
                                                                   local_files_only=offline)
        self._native_side = int(config.vision_config.image_size)
        self.image_size = (_hf.as_int(image_size, "image_size") if image_size not in (None, "")
                           else self._native_side)
        self._set_processor_size(self.image_size)
        self._text_max = int(config.text_config.max_position_embeddings)
        self._labels: OrderedDict[tuple[tuple[str, ...], str], Any] = OrderedDict()

    def _set_processor_size(self, side: int) -> None:
        ip = self.processor.image_processor
        if getattr(ip, "max_num_patches", None):  # SigLIP2 NaFlex: resolution is a patch budget
            patch = int(self.model.config.vision_config.patch_size)
            ip.max_num_patches = max(1, (side // patch) ** 2)
            return
        if isinstance(ip.size, dict) and "shortest_edge" in ip.size:
            ip.size = {"shortest_edge": side}
        else:
            ip.size = {"height": side, "width": side}
        if getattr(ip, "crop_size", None):
            ip.crop_size = {"height": side, "width": side}

    validate = staticmethod(require_task_inputs)  # checked when a stream is added

    def infer(self, images: Sequence[np.ndarray], task: Task,
              previous: Sequence[np.ndarray | None] | None = None) -> list[Output]:
        if task.kind not in self.tasks:
            raise BackendError(f"hf-clip does not do task {task.kind!r}; it does: "
                               f"{', '.join(sorted(self.tasks))}")
        if not images:
            return []
        feats = self._image_features(images)
        if task.kind == "embed":
            return [Output(extra={"embedding": f}) for f in feats.float().cpu().numpy()]
        require_task_inputs(task)
        template = str(task.options.get("template", self.template))
        probs = self._probabilities(feats, self._text_features(task.labels, template))
        outs = []
        for row in probs:
            best = int(row.argmax())
            outs.append(Output(label=task.labels[best], score=float(row[best]),
                               scores={lab: float(p) for lab, p in zip(task.labels, row)}))
        return outs

    def _image_features(self, images: Sequence[np.ndarray]) -> Any:
        torch = self._torch
        small = [_hf.shrink(img, self.image_size) for img in images]
        inputs = self.processor(images=small, return_tensors="pt").to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        kwargs: dict[str, Any] = {}
        if self.image_size != self._native_side and "pixel_attention_mask" not in inputs:
            kwargs["interpolate_pos_encoding"] = True
        with torch.inference_mode():
            out = self.model.get_image_features(**inputs, **kwargs)
        feats = out if isinstance(out, torch.Tensor) else out.pooler_output
        return torch.nn.functional.normalize(feats.float(), dim=-1)

    def _text_features(self, labels: tuple[str, ...], template: str) -> Any:
        key = (labels, template)
        if key in self._labels:
            self._labels.move_to_end(key)
            return self._labels[key]
        torch = self._torch
        texts = [template.replace("{}", label) for label in labels]
        # SigLIP was trained on texts padded to the full length and pools the last token.
        padding = "max_length" if self.sigmoid else True
        tokens = self.processor.tokenizer(texts, padding=padding, truncation=True,
                                          max_length=self._text_max, return_tensors="pt")
        with torch.inference_mode():
            out = self.model.get_text_features(**tokens.to(self.device))
        feats = out if isinstance(out, torch.Tensor) else out.pooler_output
        feats = torch.nn.functional.normalize(feats.float(), dim=-1)
        self._labels[key] = feats
        if len(self._labels) > _LABEL_CACHE_SIZE:
            self._labels.popitem(last=False)
        return feats

    def _probabilities(self, image_feats: Any, text_feats: Any) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            logits = image_feats @ text_feats.T * self.model.logit_scale.float().exp()
            if self.sigmoid:
                probs = torch.sigmoid(logits + self.model.logit_bias.float())
            else:
                probs = logits.softmax(dim=-1)
        return probs.cpu().numpy()

    def close(self) -> None:
        self._labels.clear()
        self.model = None
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()


@register("hf-clip")
def _make(**options: object) -> HFClipBackend:
    return HFClipBackend(**options)  # type: ignore[arg-type]
