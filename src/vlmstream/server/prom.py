"""Prometheus ``/metrics``: latency and batch histograms fed as results come, and gauges
and counters (FPS, drops by reason, queue depths, clients, GPU memory) read at scrape time.

Each app has its own registry, so several servers (tests) never share series.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vlmstream.frames import Result
from vlmstream.metrics import Metrics

if TYPE_CHECKING:
    from vlmstream.pipeline import Pipeline
    from vlmstream.server.hub import ResultHub

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 1.5,
                   2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class PromMetrics(Metrics):
    """The engine's Metrics, also feeding Prometheus histograms on every observation."""

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self.latency = Histogram("vlmstream_result_latency_seconds",
                                 "End-to-end latency per result (decode finished to sink)",
                                 ["stream"], buckets=LATENCY_BUCKETS, registry=registry)
        self.results = Counter("vlmstream_results", "Results produced", ["stream"],
                               registry=registry)
        self.batch = Histogram("vlmstream_batch_size", "Images per backend micro-batch",
                               buckets=BATCH_BUCKETS, registry=registry)
        self.infer = Histogram("vlmstream_backend_batch_seconds", "Backend time per batch",
                               buckets=LATENCY_BUCKETS, registry=registry)

    def observe(self, r: Result) -> None:
        super().observe(r)
        lat = r.latency_ms
        if lat is not None:
            self.latency.labels(r.stream_id).observe(lat / 1000.0)
        self.results.labels(r.stream_id).inc()

    def observe_batch(self, size: int, infer_ms: float) -> None:
        super().observe_batch(size, infer_ms)
        self.batch.observe(size)
        self.infer.observe(infer_ms / 1000.0)

    def forget(self, stream_id: str) -> None:
        """Drop a removed stream's series."""
        for m in (self.latency, self.results):
            try:
                m.remove(stream_id)
            except KeyError:
                pass


class PipelineCollector(Collector):
    """Reads the pipeline, sinks and hub when scraped."""

    def __init__(self, pipeline: Pipeline, hub: ResultHub) -> None:
        self.pipeline = pipeline
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        fps = GaugeMetricFamily("vlmstream_stream_fps", "Analysed frames per second (recent)",
                                labels=["stream"])
        target = GaugeMetricFamily("vlmstream_stream_target_fps", "Target analysis FPS",
                                   labels=["stream"])
        state = GaugeMetricFamily("vlmstream_stream_state", "1 for the stream's ingest state",
                                  labels=["stream", "state"])
        frames_in = CounterMetricFamily("vlmstream_frames_in", "Frames decoded",
                                        labels=["stream"])
        analysed = CounterMetricFamily("vlmstream_frames_analysed", "Frames analysed",
                                       labels=["stream"])
        drops = CounterMetricFamily("vlmstream_frames_dropped", "Frames dropped, by reason",
                                    labels=["stream", "reason"])
        depth = GaugeMetricFamily("vlmstream_queue_depth", "Items waiting in a queue",
                                  labels=["queue", "name"])
        for h in list(self.pipeline.streams.values()):
            sid = h.id
            snap = h.slot.counters.snapshot()
            fps.add_metric([sid], self.pipeline.metrics.stream_summary(sid)["fps_recent"])
            target.add_metric([sid], h.config.fps)
            state.add_metric([sid, h.ingest.state.value], 1.0)
            frames_in.add_metric([sid], float(snap["frames_in"]))  # type: ignore[arg-type]
            analysed.add_metric([sid], float(snap["analysed"]))  # type: ignore[arg-type]
            for reason, n in snap["dropped"].items():  # type: ignore[union-attr]
                drops.add_metric([sid, reason], float(n))
            depth.add_metric(["ingest_buffer", sid], float(len(h.ingest.buffer)))
        for s in self.pipeline.sinks:
            depth.add_metric(["sink", s.name], float(s.depth))
            if s.dropped:
                drops.add_metric(["", f"sink_{s.name}"], float(s.dropped))
        depths = self.hub.queue_depths()
        depth.add_metric(["live_clients_max", "all"], float(max(depths, default=0)))
        clients = GaugeMetricFamily("vlmstream_live_clients",
                                    "Connected WebSocket and gRPC result clients")
        clients.add_metric([], float(len(depths)))
        yield from (fps, target, state, frames_in, analysed, drops, depth, clients)
        yield from _gpu_memory()


def _gpu_memory() -> Iterator[Metric]:
    """GPU memory per device, when torch is already loaded (by a backend) and sees a GPU."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return
    g = GaugeMetricFamily("vlmstream_gpu_memory_bytes", "GPU memory held by this process",
                          labels=["device", "kind"])
    for i in range(torch.cuda.device_count()):
        g.add_metric([str(i), "allocated"], float(torch.cuda.memory_allocated(i)))
        g.add_metric([str(i), "reserved"], float(torch.cuda.memory_reserved(i)))
    yield g
