"""Tiny random checkpoints of real architectures for tests (and the engine's end-to-end CLI
test): thin names over ``vlmstream.bench.synthetic_models``, which the GPU benchmark also uses
at full size. Each builder writes a folder loadable with ``from_pretrained`` and returns it."""

from __future__ import annotations

from pathlib import Path

from vlmstream.bench import synthetic_models as _sm


def build_tiny_clip(directory: str | Path) -> Path:
    return _sm.build_clip(directory)


def build_tiny_siglip(directory: str | Path) -> Path:
    return _sm.build_siglip(directory)


def build_tiny_vlm(directory: str | Path, family: str) -> Path:
    """``family``: paligemma, idefics3 or qwen2_vl."""
    return _sm.build_vlm(directory, family)
