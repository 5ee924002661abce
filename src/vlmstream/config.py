"""One typed configuration, loadable from YAML and overridable from the command line.

Unknown keys are errors (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vlmstream.sampling import DropPolicy


class ConfigError(ValueError):
    """The configuration is wrong; the message says where and how to fix it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class BackendConfig(_Strict):
    name: str = "motion"
    options: dict[str, Any] = Field(default_factory=dict)
    max_batch: int | None = Field(default=None, ge=1, le=1024)
    max_wait_ms: float = Field(default=10.0, ge=0, le=1000)
    fallback: BackendConfig | None = Field(
        default=None, description="smaller/faster backend to move streams to on out-of-memory "
        "or timeout; they move back after cooldown_s")
    cooldown_s: float = Field(default=30.0, gt=0, le=3600)


class TaskConfig(_Strict):
    kind: str = "motion"
    labels: list[str] = Field(default_factory=list)
    prompt: str | None = None
    track: bool = Field(default=True, description="persistent ids for detect/pose boxes")

    @field_validator("labels", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p.strip() for p in v.split(",") if p.strip()]
        return v


class StreamConfig(_Strict):
    """One source and how to analyse it. Unset task/backend fields use the run's defaults."""

    source: str
    id: str | None = None
    fps: float = Field(default=5.0, gt=0, le=240, description="target analysis frames per second")
    max_latency_ms: float = Field(default=1000.0, gt=0, le=60_000)
    drop_policy: DropPolicy = DropPolicy.LATEST
    gate: bool = Field(default=False, description="skip static frames, force on scene cuts")
    buffer_s: float = Field(default=1.0, ge=0, le=2.0)
    realtime: bool = True
    loop: bool = False
    size: str | None = Field(default=None, description="resize at decode, WIDTHxHEIGHT")
    options: dict[str, Any] = Field(
        default_factory=dict, description="source options (transport, user, password, "
        "open_timeout_s, read_timeout_s, timecode, hwaccel, ...) and reconnect options "
        "(watchdog_s, backoff_s, backoff_max_s, fail_after, failed_retry_s); "
        "see docs/live-sources.md")
    task: TaskConfig | None = None
    backend: BackendConfig | None = None
    zones: dict[str, list[tuple[float, float]]] = Field(
        default_factory=dict, description="counting polygons, pixels or 0-1 fractions")
    lines: dict[str, tuple[tuple[float, float], tuple[float, float]]] = Field(
        default_factory=dict, description="counting lines (two points), pixels or 0-1 fractions")

    @field_validator("options")
    @classmethod
    def _options_ok(cls, v: dict[str, Any]) -> dict[str, Any]:
        from vlmstream.sources.ingest import ReconnectPolicy

        ReconnectPolicy.split(v)  # raises ValueError naming the bad option
        return v

    @field_validator("id")
    @classmethod
    def _id_ok(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", v):
            raise ValueError("stream id must be 1-64 of letters, digits, _ . : -")
        return v


class OutputConfig(_Strict):
    jsonl: Path | None = None
    video: Path | None = None
    metrics: Path | None = None
    histogram: Path | None = None
    console: bool = True
    anonymize: bool = Field(default=False, description="pixelate people in every output picture")


class TemporalSettings(_Strict):
    window: int = Field(default=5, ge=1, le=1000)
    enter_count: int = Field(default=2, ge=1, le=1000)


class RunConfig(_Strict):
    streams: list[StreamConfig] = Field(default_factory=list)
    task: TaskConfig = Field(default_factory=TaskConfig)
    backend: BackendConfig = Field(default_factory=BackendConfig)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    outputs: OutputConfig = Field(default_factory=OutputConfig)
    duration_s: float | None = Field(default=None, gt=0)

    def resolved_streams(self) -> list[StreamConfig]:
        """Streams with ids assigned (s0, s1, ... unless given) and defaults filled in."""
        out: list[StreamConfig] = []
        seen: set[str] = set()
        for i, s in enumerate(self.streams):
            sid = s.id or f"s{i}"
            if sid in seen:
                raise ConfigError(f"stream id {sid!r} is used twice; give each stream its own id")
            seen.add(sid)
            out.append(s.model_copy(update={"id": sid, "task": s.task or self.task,
                                            "backend": s.backend or self.backend}))
        return out


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML file of settings as a dict; ConfigError says what is wrong with it."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {p} not found")
    try:
        loaded = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {p} is not valid YAML: {e}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {p} must be a mapping of settings")
    return loaded


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read YAML (if given), apply CLI overrides (dotted keys), validate."""
    data = read_yaml(path) if path is not None else {}
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_explain(e, path)) from None


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    d = data
    for p in parts[:-1]:
        d = d.setdefault(p, {})
    d[parts[-1]] = value


def _explain(e: ValidationError, path: str | Path | None) -> str:
    where = f" in {path}" if path else ""
    lines = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown setting (check the spelling; see the README for the settings)"
        lines.append(f"{loc}: {msg}")
    return f"invalid configuration{where}: " + "; ".join(lines)
