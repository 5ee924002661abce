"""`vlmstream run`: build the pipeline from a RunConfig, run it, report, exit cleanly."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from vlmstream.config import RunConfig
from vlmstream.pipeline import Pipeline
from vlmstream.sinks.base import Sink
from vlmstream.sinks.console import ConsoleView, stream_table
from vlmstream.sinks.jsonl import JsonlSink
from vlmstream.sinks.video import VideoSink

log = logging.getLogger(__name__)


def build_sinks(cfg: RunConfig, out: Path) -> list[Sink]:
    o = cfg.outputs
    sinks: list[Sink] = [JsonlSink(o.jsonl or out / "results.jsonl")]
    if o.video is not None:
        sinks.append(VideoSink(o.video, multi=len(cfg.streams) > 1))
    return sinks


def run_pipeline(cfg: RunConfig, out: Path, *, console: bool = False,
                 stop: threading.Event | None = None, install_signals: bool = True) -> int:
    """Run until every stream ends, ``duration_s`` passes, or a signal/``stop`` arrives.

    Returns the exit code: 0 when at least one stream ran, 1 when none could."""
    from vlmstream.cli import install_signal_handlers

    out.mkdir(parents=True, exist_ok=True)
    # Truncate a previous run's results so a file holds exactly one run.
    jsonl_path = cfg.outputs.jsonl or out / "results.jsonl"
    Path(jsonl_path).parent.mkdir(parents=True, exist_ok=True)
    Path(jsonl_path).write_text("")
    streams = cfg.resolved_streams()
    pipe = Pipeline(build_sinks(cfg, out), temporal=cfg.temporal,
                    anonymize=cfg.outputs.anonymize)
    for s in streams:
        pipe.add_stream(s)
    stop = stop or threading.Event()
    if install_signals and threading.current_thread() is threading.main_thread():
        install_signal_handlers(stop)
    err = Console(stderr=True)
    view = ConsoleView(pipe.status, err) if console else None
    pipe.start()
    if view:
        view.start()
    try:
        pipe.wait(cfg.duration_s, stop)
    finally:
        if view:
            view.close()
        pipe.stop(drain=True)
    summary = pipe.summary()
    metrics_path = cfg.outputs.metrics or out / "metrics.json"
    pipe.metrics.write_json(metrics_path, summary)
    png = pipe.metrics.histogram_png(cfg.outputs.histogram or out / "latency.png")
    print_summary(err, summary, pipe.status())
    written = [str(jsonl_path), str(metrics_path)] + ([str(png)] if png else [])
    for s in pipe.sinks:
        if isinstance(s, VideoSink):
            written += [str(p) for p in s.paths.values()]
    err.print("wrote: " + ", ".join(written), highlight=False, soft_wrap=True)
    ran = [h for h in pipe.streams.values() if h.ingest.frames > 0]
    if not ran:
        err.print("[bold red]nothing could run:[/] no stream produced a frame; see the errors above",
                  highlight=False, soft_wrap=True)
        return 1
    return 0


def print_summary(console: Console, summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    console.print(stream_table(rows, title="streams"))
    t = Table(title="latency (ms)")
    for col in ("measure", "count", "p50", "p95", "p99", "max"):
        t.add_column(col, justify="left" if col == "measure" else "right")

    def row(name: str, p: dict[str, Any]) -> None:
        if p.get("count"):
            t.add_row(name, str(p["count"]), *(f"{p[k]:.1f}" for k in ("p50", "p95", "p99", "max")))

    row("end to end (arrival->sink)", summary["e2e_ms"])
    row("capture->sink", summary["capture_to_sink_ms"])
    row("backend batch", summary["backend_batch_ms"])
    for stage, p in summary["stages_ms"].items():
        row(f"  stage: ->{stage}", p)
    console.print(t)
