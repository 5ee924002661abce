"""GPU benchmark of the Hugging Face backends on full-size architectures with random weights.

    python -m vlmstream.bench.vlm_gpu [--tiny] [--models siglip,paligemma,idefics3,qwen2_vl]
                                      [--batches 1,2,4,8,16] [--iters 5] [--out vlm_gpu.json]

No weights can be downloaded, so each model is built from its published config (see
``synthetic_models.FULL``), saved, and loaded back through the backend, bf16 on CUDA. Random
weights give real costs for everything but answer length: generate-and-parse is timed at its
full 10 new tokens unless the model happens to emit an end token earlier (the JSON records
the mean answer length). ``--tiny`` runs the same path on tiny models on CPU as a smoke test.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vlmstream.backends import create
from vlmstream.backends.base import Backend, BackendOverloaded, Task

LABELS = ("person", "car", "truck", "bicycle", "dog", "empty street")
ALL_MODELS = ("siglip", "paligemma", "idefics3", "qwen2_vl")


@dataclass(slots=True)
class Row:
    model: str
    mode: str  # clip-classify, label-scoring, generate-parse
    batch: int
    ms_per_batch: float | None
    ms_per_frame: float | None
    images_per_s: float | None
    answer_tokens: float | None = None
    error: str | None = None


def _frames(n: int, tiny: bool) -> list[np.ndarray]:
    """VGA frames, as a camera stream delivers them (tiny models get thumbnails)."""
    shape = (48, 64, 3) if tiny else (480, 640, 3)
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


def _time(backend: Backend, task: Task, frames: list[np.ndarray], iters: int) -> tuple[float, list]:
    backend.infer(frames, task)  # warm-up: kernels, allocator, label cache
    t0 = time.perf_counter()
    for _ in range(iters):
        outs = backend.infer(frames, task)
    return (time.perf_counter() - t0) / iters * 1000.0, outs


def _measure(name: str, backend: Backend, mode: str, task: Task, batches: list[int],
             iters: int, tiny: bool) -> list[Row]:
    rows = []
    for b in batches:
        try:
            ms, outs = _time(backend, task, _frames(b, tiny), iters)
        except BackendOverloaded as e:
            rows.append(Row(name, mode, b, None, None, None, error=str(e)))
            break  # larger batches will not fit either
        tokens = None
        if mode == "generate-parse":
            tok = backend.tokenizer  # type: ignore[attr-defined]
            tokens = float(np.mean([len(tok(o.text or "", add_special_tokens=False)["input_ids"])
                                    for o in outs]))
        rows.append(Row(name, mode, b, round(ms, 2), round(ms / b, 2),
                        round(b * 1000.0 / ms, 2), tokens))
    return rows


def run(models: list[str], batches: list[int], iters: int, tiny: bool) -> list[Row]:
    from vlmstream.bench import synthetic_models as sm

    opts = {"device": "cpu", "dtype": "fp32"} if tiny else {"device": "auto", "dtype": "auto"}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="vlm_gpu_") as tmp:
        for name in models:
            folder = Path(tmp) / name
            if name == "siglip":
                sm.build_siglip(folder, full=not tiny)
                backend = create("hf-clip", model=str(folder), local_files_only="true",
                                 max_batch=str(max(batches)), **opts)
                rows += _measure(name, backend, "clip-classify",
                                 Task("classify", labels=LABELS), batches, iters, tiny)
            else:
                sm.build_vlm(folder, name, full=not tiny)
                backend = create("hf-vlm", model=str(folder), local_files_only="true",
                                 max_batch=str(max(batches)), **opts)
                rows += _measure(name, backend, "label-scoring",
                                 Task("classify", labels=LABELS), batches, iters, tiny)
                rows += _measure(name, backend, "generate-parse",
                                 Task("classify", labels=LABELS,
                                      options={"classify_mode": "generate"}), batches, iters, tiny)
            backend.close()
            _free_gpu()
    return rows


def _free_gpu() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def environment() -> dict[str, str]:
    import torch
    import transformers

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "gpu": gpu,
            "torch": torch.__version__, "transformers": transformers.__version__,
            "cpu": platform.processor() or platform.machine()}


def markdown(rows: list[Row]) -> str:
    lines = ["| model | mode | batch | ms/batch | ms/frame | images/s | answer tokens |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.error:
            lines.append(f"| {r.model} | {r.mode} | {r.batch} | {r.error} | | | |")
            continue
        toks = "" if r.answer_tokens is None else f"{r.answer_tokens:.1f}"
        lines.append(f"| {r.model} | {r.mode} | {r.batch} | {r.ms_per_batch:.1f} | "
                     f"{r.ms_per_frame:.1f} | {r.images_per_s:.1f} | {toks} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="tiny models on CPU (smoke test)")
    p.add_argument("--models", default=",".join(ALL_MODELS))
    p.add_argument("--batches", default="1,2,4,8,16")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--out", default="vlm_gpu.json")
    a = p.parse_args(argv)
    models = [m for m in a.models.split(",") if m]
    unknown = set(models) - set(ALL_MODELS)
    if unknown:
        p.error(f"unknown models {sorted(unknown)}; choose from {', '.join(ALL_MODELS)}")
    rows = run(models, [int(b) for b in a.batches.split(",")], a.iters, a.tiny)
    env = environment()
    print(f"{env['gpu']} · torch {env['torch']} · transformers {env['transformers']} · "
          f"{env['date']}{' · tiny models' if a.tiny else ''}\n")
    print(markdown(rows))
    Path(a.out).write_text(json.dumps({"environment": env, "tiny": a.tiny,
                                       "rows": [asdict(r) for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
