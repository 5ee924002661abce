"""Which decoder runs: NVIDIA (CUDA through FFmpeg's hwaccel) when a GPU is there, else
software. Without a GPU, creating the CUDA device raises; that answer is found once per
process and every source says which decoder it uses.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)

MODES = ("auto", "cuda", "none")


@functools.cache
def _cuda_error() -> str | None:
    """None when a CUDA decoder can be created here, else why not."""
    import av
    from av.codec.hwaccel import HWAccel, hwdevices_available

    if "cuda" not in hwdevices_available():
        return "this FFmpeg build has no CUDA support"
    try:
        HWAccel("cuda").create(av.Codec("h264", "r"))
    except Exception as e:  # noqa: BLE001 - any failure means no usable GPU
        return f"no usable NVIDIA GPU ({e})"
    return None


def choose_hwaccel(mode: str = "auto") -> tuple[Any, str]:
    """(HWAccel or None for av.open, a note saying which decoder runs and why)."""
    from vlmstream.sources.base import SourceError

    if mode not in MODES:
        raise SourceError(f"hwaccel {mode!r} is not one of {', '.join(MODES)}")
    if mode == "none":
        return None, "software (hwaccel=none)"
    why = _cuda_error()
    if why is None:
        from av.codec.hwaccel import HWAccel

        return HWAccel("cuda", allow_software_fallback=True), "nvidia (cuda)"
    if mode == "cuda":
        raise SourceError(f"hwaccel=cuda asked for, but {why}; use hwaccel=auto or none")
    return None, f"software ({why})"
