"""A benchmark scenario: N streams, one backend, a target analysis rate and a latency budget.

Scenarios are YAML files (packaged ones live in ``bench/scenarios``); every field has a
default so a file only says what differs. ``source`` is a template: ``{i}`` is the stream's
index and ``{seed}`` its seed (``seed + i``), so N streams are N different, reproducible
pictures; ``{data}`` is the package's data folder (vtest.mp4 lives there).
"""

from __future__ import annotations

import random
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vlmstream.config import BackendConfig, ConfigError, StreamConfig, TaskConfig
from vlmstream.sampling import DropPolicy

PACKAGED = "vlmstream.bench.scenarios"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CapacitySpec(_Strict):
    """How the most streams that hold the budget are searched for."""

    min_streams: int = Field(default=1, ge=1)
    max_streams: int = Field(default=32, ge=1, le=512)
    fps_share: float = Field(default=0.9, gt=0, le=1.0,
                             description="every stream must get this share of its target fps")


class AccuracySpec(_Strict):
    """The clip analysed offline (reference) and live under load."""

    clip: str = Field(default="render://pulse",
                      description="a video file, or render://NAME for a clip rendered from the "
                                  "synthetic source (see bench/clips.py)")
    load_streams: int = Field(default=8, ge=0, description="other streams running beside it")
    event_tolerance_s: float = Field(default=0.5, gt=0)


class Scenario(_Strict):
    name: str = "custom"
    description: str = ""
    streams: int = Field(default=4, ge=1, le=512)
    source: str = "synthetic://?size=640x360&fps=30&pattern=moving&seed={seed}"
    size: str | None = None
    fps: float = Field(default=5.0, gt=0, le=240, description="target analysed FPS per stream")
    max_latency_ms: float = Field(default=250.0, gt=0, description="the p99 budget")
    drop_policy: DropPolicy = DropPolicy.LATEST
    realtime: bool = True
    loop: bool = True
    buffer_s: float = Field(default=1.0, ge=0, le=2.0)
    backend: BackendConfig = Field(default_factory=BackendConfig)
    task: TaskConfig = Field(default_factory=TaskConfig)
    warmup_s: float = Field(default=1.0, ge=0)
    duration_s: float = Field(default=5.0, gt=0)
    seed: int = 0
    capacity: CapacitySpec = Field(default_factory=CapacitySpec)
    accuracy: AccuracySpec = Field(default_factory=AccuracySpec)

    def stream_configs(self, n: int | None = None) -> list[StreamConfig]:
        """The engine's stream configs for ``n`` streams (the scenario's count by default)."""
        n = self.streams if n is None else n
        return [StreamConfig(id=f"s{i}", source=self.source_for(i), fps=self.fps,
                             max_latency_ms=self.max_latency_ms, drop_policy=self.drop_policy,
                             buffer_s=self.buffer_s, realtime=self.realtime, loop=self.loop,
                             size=self.size, task=self.task, backend=self.backend)
                for i in range(n)]

    def source_for(self, i: int) -> str:
        return expand(self.source, i=i, seed=self.seed + i)

    def seed_everything(self) -> None:
        """Fix the process-wide random generators a backend might draw from."""
        random.seed(self.seed)
        np.random.seed(self.seed)


def expand(text: str, *, i: int = 0, seed: int = 0) -> str:
    """Fill a source template's ``{i}``, ``{seed}`` and ``{data}``."""
    data = str(resources.files("vlmstream") / "data")
    return text.replace("{i}", str(i)).replace("{seed}", str(seed)).replace("{data}", data)


def packaged_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(PACKAGED).iterdir()
                  if p.name.endswith(".yaml"))


def load_scenario(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """A packaged scenario by name, or a YAML file by path; ``overrides`` are dotted keys."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise ConfigError(f"scenario file {p} not found")
        text = p.read_text()
    else:
        res = resources.files(PACKAGED) / f"{name_or_path}.yaml"
        if not res.is_file():
            raise ConfigError(f"unknown scenario {str(name_or_path)!r}; give a YAML file or one "
                              f"of: {', '.join(packaged_names())}")
        text = res.read_text()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"scenario {name_or_path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"scenario {name_or_path} must be a mapping of settings")
    for key, value in (overrides or {}).items():
        d = data
        parts = key.split(".")
        for part in parts[:-1]:
            d = d.setdefault(part, {})
        d[parts[-1]] = value
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        msgs = "; ".join(f"{'.'.join(str(x) for x in err['loc'])}: "
                         + ("unknown setting (check the spelling)"
                            if err["type"] == "extra_forbidden" else err["msg"])
                         for err in e.errors())
        raise ConfigError(f"invalid scenario {name_or_path}: {msgs}") from None
