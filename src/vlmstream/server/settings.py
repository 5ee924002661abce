"""Everything `vlmstream serve` can be told, in one typed object (CLI flags and YAML map here)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from vlmstream.config import BackendConfig, StreamConfig, TaskConfig, TemporalSettings


class WebhookTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    secret: str | None = Field(default=None, description="HMAC-SHA256 key for the signature")


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    grpc_port: int | None = Field(default=None, ge=0, le=65535,
                                  description="gRPC results service port; None: no gRPC")
    tokens: list[str] = Field(default_factory=list, description="bearer API tokens; empty: open")
    allow_sources: list[str] = Field(
        default_factory=lambda: ["synthetic://*"],
        description="glob patterns a stream's source URI must match (credentials ignored)")
    cors_origins: list[str] = Field(default_factory=list)
    db: Path | None = Field(default=Path("vlmstream-events.sqlite"),
                            description="SQLite event store; None keeps no events")
    retention_days: float = Field(default=7.0, gt=0)
    retention_max_events: int = Field(default=100_000, ge=100)
    webhooks: list[WebhookTarget] = Field(default_factory=list)
    ws_queue: int = Field(default=256, ge=1, le=100_000,
                          description="results buffered per live client before it lags")
    recent: int = Field(default=100, ge=1, le=10_000, description="results kept per stream")
    thumb_fps: float = Field(default=4.0, gt=0, le=30,
                             description="most dashboard JPEGs encoded per stream per second")
    thumb_width: int = Field(default=480, ge=64, le=1920)
    task: TaskConfig = Field(default_factory=TaskConfig)
    backend: BackendConfig = Field(default_factory=BackendConfig)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    streams: list[StreamConfig] = Field(default_factory=list, description="streams at start")
    jsonl: Path | None = Field(default=None, description="also write every result here")
    anonymize: bool = Field(default=False, description="pixelate every person in every picture "
                            "the server sends (dashboard, thumbnails)")
