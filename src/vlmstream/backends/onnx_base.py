"""What the builtin ONNX backends share: sessions on the models bundled inside the package,
option parsing (``--backend-opt`` gives strings), label files, and letterboxing.

onnxruntime is imported only when a backend is built, so ``vlmstream`` imports without the
``models`` extra and the error says what to install.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import cv2
import numpy as np

from vlmstream.backends._hf import as_int
from vlmstream.backends.base import BackendError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'vlmstream[models]'"
# Two intra-op threads: the dev box has two cores, and on bigger machines several streams'
# backends (and decode threads) share the cores, so one model should not claim them all.
DEFAULT_THREADS = 2


def as_float(value: object, name: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BackendError(f"option {name} must be a number, got {value!r}") from None


def as_fraction(value: object, name: str) -> float:
    v = as_float(value, name)
    if not 0.0 <= v <= 1.0:
        raise BackendError(f"option {name} must be between 0 and 1, got {value!r}")
    return v


def as_positive(value: object, name: str) -> int:
    v = as_int(value, name)
    if v < 1:
        raise BackendError(f"option {name} must be 1 or more, got {value!r}")
    return v


def model_file(name: str) -> Any:
    """A model or label file shipped in ``vlmstream/models`` (an importlib.resources path)."""
    return resources.files("vlmstream") / "models" / name


@cache
def load_labels(name: str) -> tuple[str, ...]:
    """Class names, one per line, in the model's class order."""
    text = model_file(name).read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def open_session(name: str, threads: object = DEFAULT_THREADS, device: str = "auto") -> Any:
    """An onnxruntime session on a bundled model: CUDA when onnxruntime has it (and ``device``
    allows), else the CPU with ``threads`` intra-op threads."""
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise BackendError(f"the builtin models need onnxruntime ({e.name} is not installed); "
                           f"install it with: {INSTALL_HINT}") from e
    n = as_positive(threads, "threads")
    if device not in ("auto", "cpu", "cuda"):
        raise BackendError(f"device must be auto, cpu or cuda, got {device!r}")
    have = ort.get_available_providers()
    if device == "cuda" and "CUDAExecutionProvider" not in have:
        raise BackendError("device=cuda asked for but this onnxruntime has no CUDA provider "
                           "(install onnxruntime-gpu), or use device=auto")
    providers = ["CPUExecutionProvider"]
    if device != "cpu" and "CUDAExecutionProvider" in have:
        providers.insert(0, "CUDAExecutionProvider")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = n
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    ref = model_file(name)
    if not ref.is_file():
        raise BackendError(f"bundled model {name} is missing from the installation; "
                           "reinstall vlmstream (or run scripts/convert_models.py)")
    with resources.as_file(ref) as path:
        session = ort.InferenceSession(str(path), opts, providers=providers)
    log.info("loaded %s on %s (%d threads)", name, session.get_providers()[0], n)
    return session


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a picture was fitted into a model's input: scaled by ``scale`` (aspect kept) into
    the top-left corner of a ``width`` x ``height`` canvas, the rest black."""

    scale: float
    width: int
    height: int

    @classmethod
    def fit(cls, h: int, w: int, width: int, height: int) -> Letterbox:
        return cls(min(width / w, height / h), width, height)

    def apply(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        nw = max(1, min(self.width, round(w * self.scale)))
        nh = max(1, min(self.height, round(h * self.scale)))
        interp = cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR
        canvas = np.zeros((self.height, self.width, 3), np.uint8)
        canvas[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=interp)
        return canvas

    def to_source(self, xy: np.ndarray, h: int, w: int) -> np.ndarray:
        """Model-input pixel coordinates (..., 2 as x, y) back to the picture's pixels."""
        out = xy / self.scale
        out[..., 0] = out[..., 0].clip(0, w)
        out[..., 1] = out[..., 1].clip(0, h)
        return out


def check_call(name: str, tasks: frozenset[str], kind: str, images: Any) -> bool:
    """Refuse a task the backend does not do and pictures that are not HxWx3 uint8 RGB;
    True when there is work (a non-empty batch)."""
    if kind not in tasks:
        raise BackendError(f"the {name} backend does not do task {kind!r}; it does: "
                           f"{', '.join(sorted(tasks))}")
    for img in images:
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise BackendError(f"expected HxWx3 uint8 RGB pictures, got {img.dtype} {img.shape}")
    return len(images) > 0


def reject_unknown(name: str, unknown: dict[str, object], known: Sequence[str]) -> None:
    """A misspelt option must not silently fall back to the default."""
    if unknown:
        raise BackendError(f"the {name} backend has no option(s) {', '.join(sorted(unknown))}; "
                           f"it takes: {', '.join(known)}")
