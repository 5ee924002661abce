"""Response bodies of the REST API (request bodies reuse config.StreamConfig)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from vlmstream.config import StreamConfig


class Percentiles(BaseModel):
    count: int
    mean: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None


class StreamStatus(BaseModel):
    id: str
    config: StreamConfig = Field(description="as added; credentials masked")
    state: str = Field(description="ingest state: connecting, live, stalled, reconnecting, "
                                   "failed, ended, stopped")
    last_error: str | None
    target_fps: float
    fps: float = Field(description="analysed frames per second since the stream started")
    fps_recent: float = Field(description="analysed frames per second, last few results")
    effective_fps: float = Field(description="the sampler's current rate (after degradation)")
    degraded: bool
    buffered: int
    results: int
    frames_in: int
    analysed: int
    dropped: dict[str, int] = Field(description="frames dropped, by reason")
    dropped_total: int
    latency_ms: Percentiles = Field(description="end-to-end latency (decode to sink)")
    latency_recent_ms: list[float] = Field(description="latencies of the last results, oldest "
                                                       "first (for sparklines)")
    source_info: dict[str, Any] | None


class Health(BaseModel):
    status: str
    streams: int
    live_clients: int
    uptime_s: float


class ErrorBody(BaseModel):
    detail: Any
