"""What the Hugging Face backends share: lazy imports, option parsing, device/dtype choice,
loading errors a user can act on, and frame resizing.

torch and transformers are imported only when a backend is built, so that ``vlmstream``
imports (and the motion/ONNX backends run) on machines without the ``hf`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vlmstream.backends.base import BackendError

INSTALL_HINT = "pip install 'vlmstream[hf]'"

_DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16",
           "half": "float16", "fp32": "float32", "float32": "float32", "float": "float32"}


def import_hf(backend: str) -> tuple[Any, Any]:
    """Return (torch, transformers) or say which extra to install."""
    try:
        import torch
        import transformers
    except ImportError as e:
        raise BackendError(
            f"the {backend} backend needs torch and transformers ({e.name} is not installed); "
            f"install them with: {INSTALL_HINT}") from e
    return torch, transformers


def as_bool(value: object) -> bool:
    """Options arrive as strings from ``--backend-opt key=value``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise BackendError(f"expected a boolean (true/false), got {value!r}")


def as_int(value: object, name: str) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BackendError(f"option {name} must be an integer, got {value!r}") from None


def resolve_device(torch: Any, device: str) -> str:
    """``auto`` means the GPU when there is one, else the CPU."""
    if device in ("auto", "", None):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise BackendError(f"device {device!r} asked for but torch sees no CUDA GPU; "
                           "use device=cpu or device=auto")
    return str(device)


def resolve_dtype(torch: Any, dtype: str, device: str) -> Any:
    """``auto`` is bfloat16 on a GPU that has it, float16 on an older GPU, float32 on CPU
    (half precision matmuls on CPU are slow or missing)."""
    if dtype in ("auto", "", None):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    name = _DTYPES.get(str(dtype).lower())
    if name is None:
        raise BackendError(f"unknown dtype {dtype!r}; use one of: auto, bf16, fp16, fp32")
    return getattr(torch, name)


def load_config(transformers: Any, model: str, local_files_only: bool) -> tuple[Any, str]:
    """Read the checkpoint's config, turning a missing folder or hub id into a clear error.
    Returns the config and the name to load the rest from (a local folder made absolute)."""
    if not model:
        raise BackendError("no model given: pass model=<hub id or local folder>")
    path = Path(model).expanduser()
    looks_local = model.startswith((".", "/", "~")) or path.exists()
    if looks_local and not (path / "config.json").is_file():
        what = "does not exist" if not path.exists() else "has no config.json"
        raise BackendError(f"model folder {str(path)!r} {what}; point model= at a folder written "
                           "by save_pretrained, or at a hub id")
    source = str(path.resolve()) if looks_local else model
    try:
        return transformers.AutoConfig.from_pretrained(
            source, local_files_only=local_files_only), source
    except (OSError, ValueError) as e:
        raise BackendError(f"cannot load the config of {model!r}: {e}. Without network access, "
                           "download the checkpoint elsewhere and pass its local folder") from e


def shrink(image: np.ndarray, side: int) -> np.ndarray:
    """Downscale so the shorter side is ``side`` before the processor sees the frame: resizing
    a 1080p frame in the processor costs more than the small model does."""
    h, w = image.shape[:2]
    short = min(h, w)
    if short <= side:
        return image
    scale = side / short
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def load_processor(transformers: Any, source: str, model_type: str, local_files_only: bool) -> Any:
    """AutoProcessor, or, where that fails only because torchvision is missing, the same
    processor class without its video half (see ``without_video``)."""
    try:
        return transformers.AutoProcessor.from_pretrained(source, local_files_only=local_files_only)
    except (AttributeError, TypeError, ValueError, ImportError, OSError) as e:
        if transformers.utils.is_torchvision_available():
            raise BackendError(f"cannot load the processor of {source!r}: {e}") from e
        from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

        name = PROCESSOR_MAPPING_NAMES.get(model_type)
        if not name:
            raise BackendError(f"cannot load the processor of {source!r}: {e}") from e
        cls = without_video(getattr(transformers, name))
        return cls.from_pretrained(source, local_files_only=local_files_only)


def without_video(cls: type) -> type:
    """The processor class ``cls`` built with no video processor.

    transformers insists on a video processor for Qwen2-VL and SmolVLM even for still images,
    and video processors need torchvision, which has no CPU build matching the CPU torch wheel.
    Frames are still images, so the video half is never used here.
    """
    def __init__(self: Any, image_processor: Any = None, tokenizer: Any = None,
                 chat_template: str | None = None, **kwargs: Any) -> None:
        cls.__init__(self, image_processor=image_processor, tokenizer=tokenizer,
                     video_processor=None, chat_template=chat_template, **kwargs)

    # Keep the class name so a saved processor still loads through AutoProcessor elsewhere.
    return type(cls.__name__, (cls,), {"__init__": __init__, "__module__": cls.__module__})
