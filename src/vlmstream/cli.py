"""The ``vlmstream`` command."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from vlmstream.backends import BackendError
from vlmstream.cliutils import err, fail, parse_kv, setup_logging
from vlmstream.config import ConfigError, RunConfig, load_config
from vlmstream.sampling import DropPolicy

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Run vision and vision-language models on many live video streams.")
log = logging.getLogger("vlmstream")


def build_run_config(config: Path | None, sources: list[str], cli: dict[str, Any]) -> RunConfig:
    """YAML first, then command-line values on top (only the ones the user gave)."""
    overrides = {k: v for k, v in cli.items() if v is not None}
    stream_keys = ("fps", "max_latency_ms", "drop_policy", "gate", "realtime", "loop", "size",
                   "buffer_s")
    per_stream = {k: overrides.pop(k) for k in stream_keys if k in overrides}
    cfg = load_config(config, {k: v for k, v in overrides.items()})
    streams = list(cfg.streams)
    if sources:
        streams = [{"source": s} for s in sources]  # type: ignore[misc]
    else:
        streams = [s.model_dump(exclude_none=True) for s in streams]  # type: ignore[misc]
    for s in streams:
        s.update(per_stream)  # type: ignore[union-attr]
    data = cfg.model_dump(exclude_none=True)
    data["streams"] = streams
    try:
        return RunConfig.model_validate(data)
    except Exception as e:  # pydantic error in the merged config
        raise ConfigError(f"invalid option: {e}") from None


@app.command()
def run(
    sources: Annotated[list[str] | None, typer.Argument(
        help="Video files, synthetic:// or stream URLs.", show_default=False)] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")] = None,
    task: Annotated[str | None, typer.Option(help="motion, classify, detect, caption, ask, ...")] = None,
    backend: Annotated[str | None, typer.Option(help="Backend name (see `vlmstream backends`).")] = None,
    model: Annotated[str | None, typer.Option(help="Model id or local directory for the backend.")] = None,
    labels: Annotated[str | None, typer.Option(help="Comma-separated labels.")] = None,
    prompt: Annotated[str | None, typer.Option(help="Prompt or question for VLM tasks.")] = None,
    backend_opt: Annotated[list[str] | None, typer.Option(
        "--backend-opt", help="Backend option KEY=VALUE (repeatable).")] = None,
    fps: Annotated[float | None, typer.Option(help="Target analysis FPS per stream.")] = None,
    max_latency_ms: Annotated[float | None, typer.Option(
        help="Latency budget per frame; older frames are dropped as stale.")] = None,
    drop_policy: Annotated[DropPolicy | None, typer.Option(help="latest, oldest or adaptive.")] = None,
    gate: Annotated[bool | None, typer.Option(
        "--gate/--no-gate", help="Skip static frames; force analysis on scene cuts.")] = None,
    size: Annotated[str | None, typer.Option(help="Resize at decode, WIDTHxHEIGHT.")] = None,
    fast: Annotated[bool, typer.Option(
        "--fast", help="Read files as fast as possible instead of at real speed.")] = False,
    loop: Annotated[bool | None, typer.Option("--loop/--no-loop", help="Loop files.")] = None,
    batch: Annotated[int | None, typer.Option(help="Largest micro-batch.")] = None,
    max_wait_ms: Annotated[float | None, typer.Option(help="Longest wait to fill a batch.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for results, metrics and plots.")] = Path("vlmstream-out"),
    jsonl: Annotated[Path | None, typer.Option(help="JSONL results file [OUT/results.jsonl].")] = None,
    video: Annotated[Path | None, typer.Option(help="Annotated MP4 to write.")] = None,
    anonymize: Annotated[bool | None, typer.Option(
        "--anonymize/--no-anonymize", help="Pixelate every person in every output picture.")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    console: Annotated[bool | None, typer.Option(
        "--console/--no-console", help="Live table (default: on when stderr is a terminal).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Analyse SOURCES (or the config's streams) and write results as they come.

    With no source and no config: detection, tracking and counting on the bundled
    pedestrian clip, writing results, an annotated MP4 and the latency summary."""
    setup_logging(verbose)
    if not sources and config is None:
        sources = [str(bundled_clip())]
        task, backend = task or "detect", backend or "detect"
        fps = fps or 10.0
        drop_policy = drop_policy or DropPolicy.OLDEST
        video = video or out / "annotated.mp4"
    try:
        opts = parse_kv(backend_opt)
        if model is not None:
            opts["model"] = model
        cli: dict[str, Any] = {
            "task.kind": task, "task.labels": labels, "task.prompt": prompt,
            "backend.name": backend, "backend.max_batch": batch, "backend.max_wait_ms": max_wait_ms,
            "backend.options": opts or None, "duration_s": duration,
            "fps": fps, "max_latency_ms": max_latency_ms, "drop_policy": drop_policy,
            "gate": gate, "size": size, "loop": loop, "realtime": False if fast else None,
            "outputs.jsonl": jsonl, "outputs.video": video, "outputs.console": console,
            "outputs.anonymize": anonymize,
        }
        cfg = build_run_config(config, list(sources or []), cli)
    except ConfigError as e:
        raise fail(str(e)) from None
    if not cfg.streams:
        raise fail("the config has no streams: add a `streams:` list, or pass a video file, "
                    "synthetic:// or a stream URL")
    from vlmstream.runner import run_pipeline

    try:
        code = run_pipeline(cfg, out, console=console if console is not None else err.is_terminal)
    except (BackendError, ConfigError) as e:
        raise fail(str(e), 1) from None
    raise typer.Exit(code)


@app.command()
def backends() -> None:
    """List the backends this installation can build."""
    from vlmstream.backends import available

    for name in available():
        typer.echo(name)


def bundled_clip() -> Path:
    """The pedestrian clip shipped in the package (see data/LICENSE-vtest.txt)."""
    from importlib.resources import files

    return Path(str(files("vlmstream") / "data" / "vtest.mp4"))


def install_signal_handlers(stop: threading.Event) -> None:
    """First SIGINT/SIGTERM drains and flushes; a second one exits at once."""

    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise SystemExit(130)
        err.print(f"[yellow]{signal.Signals(signum).name}: draining and flushing "
                  "(press Ctrl-C again to exit at once)[/]")
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


# Commands owned by other stages (probe, serve, bench, ...) live next to the code they drive;
# each module listed here has ``register(app)``.
_COMMAND_MODULES: list[str] = [
    "vlmstream.server.cli",
    "vlmstream.bench.cli",
    "vlmstream.sources.probe",
]


def _register_commands() -> None:
    import importlib

    for mod in _COMMAND_MODULES:
        importlib.import_module(mod).register(app)


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
