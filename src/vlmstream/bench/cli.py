"""``vlmstream bench``: a command group.

- ``run [SCENARIO]``: engine and naive baseline on the scenario's N streams, then the
  capacity search for both; JSON + Markdown + plots. The one command for the headline numbers.
- ``capacity [SCENARIO]``: the capacity search alone.
- ``accuracy [SCENARIO]``: offline reference vs live under load on the scenario's clip.
- ``throughput``: null-backend engine vs plain PyAV decode+resize on 8 x 720p files.
- ``overhead``: the latency the pipeline adds to one live 30 fps stream.
- ``compare A B`` (or ``vlmstream bench --compare A B``): the differences of two reports.
- ``scenarios``: the packaged scenarios.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vlmstream.backends import BackendError
from vlmstream.cliutils import fail, parse_kv
from vlmstream.config import ConfigError

bench_app = typer.Typer(add_completion=False, no_args_is_help=False,
                        help="Benchmarks: the engine beside the naive baseline, same run.")
err = Console(stderr=True)

ScenarioArg = Annotated[str, typer.Argument(
    help="Packaged scenario name (see `vlmstream bench scenarios`) or a YAML file.")]
OutOpt = Annotated[Path | None, typer.Option(help="Report folder [bench-out/COMMAND].")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a scenario setting, KEY=VALUE (dotted keys; repeatable).")]


class Bar:
    """A rich progress bar with one line per phase; called as the harness's ticker."""

    def __init__(self) -> None:
        self.progress = Progress(TextColumn("{task.description:<24}"), BarColumn(),
                                 TextColumn("{task.completed:.0f}/{task.total:.0f}"),
                                 TimeElapsedColumn(), console=err)
        self._tasks: dict[str, Any] = {}

    def __call__(self, description: str, done: float, total: float) -> None:
        t = self._tasks.get(description)
        if t is None:
            t = self._tasks[description] = self.progress.add_task(description, total=total or 1)
        self.progress.update(t, completed=done, total=total or 1)

    def __enter__(self) -> Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _overrides(items: list[str] | None) -> dict[str, Any]:
    import yaml

    return parse_kv(items, "--set", yaml.safe_load)


def _scenario(name: str, sets: list[str] | None, extra: dict[str, Any]) -> Any:
    from vlmstream.bench.scenario import load_scenario

    ov = _overrides(sets)
    ov.update({k: v for k, v in extra.items() if v is not None})
    return load_scenario(name, ov)


def _meta(title: str, sc: Any = None) -> dict[str, Any]:
    from vlmstream.bench.report import machine

    m: dict[str, Any] = {"title": title, "command": "vlmstream " + shlex.join(sys.argv[1:]),
                         "machine": machine()}
    if sc is not None:
        m["scenario"] = sc.model_dump(mode="json")
    return m


def _finish(out: Path, report: dict[str, Any]) -> None:
    from vlmstream.bench.report import markdown, write

    paths = write(out, report)
    err.print(markdown(report), highlight=False, markup=False, soft_wrap=True)
    err.print("wrote: " + ", ".join(str(p) for p in [*paths, *report.get("plots", [])]),
              highlight=False)


def _guard(fn: Any) -> Any:
    """Turn the errors a user can fix into one red line and exit code 2."""
    try:
        return fn()
    except (ConfigError, BackendError, FileNotFoundError, ValueError) as e:
        raise fail(str(e)) from None



@bench_app.callback(invoke_without_command=True)
def main(ctx: typer.Context, compare_: Annotated[tuple[Path, Path] | None, typer.Option(
        "--compare", help="Print the differences of two reports (files or folders).")] = None,
         ) -> None:
    """Benchmarks; see `vlmstream bench COMMAND --help`."""
    try:
        import psutil  # noqa: F401
        import sklearn  # noqa: F401
        import supervision  # noqa: F401
    except ImportError as e:
        raise fail(f"vlmstream bench needs the bench extra ({e.name} is missing): "
                   "pip install 'vlmstream[bench]'") from None
    if compare_ is not None:
        compare(compare_[0], compare_[1])
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


@bench_app.command()
def scenarios() -> None:
    """List the packaged scenarios."""
    from vlmstream.bench.scenario import load_scenario, packaged_names

    for name in packaged_names():
        typer.echo(f"{name:10s} {load_scenario(name).description}")


@bench_app.command()
def run(scenario: ScenarioArg = "batching", out: OutOpt = None, sets: SetOpt = None,
        streams: Annotated[int | None, typer.Option(help="Streams for the load run.")] = None,
        capacity_search: Annotated[bool, typer.Option(
            "--capacity/--no-capacity", help="Also search both systems' capacity.")] = True,
        ) -> None:
    """Engine vs naive baseline on N streams, then capacity for both: p99, fps, ratios."""
    from vlmstream.bench import capacity, harness, report

    sc = _guard(lambda: _scenario(scenario, sets, {"streams": streams}))
    out = out or Path("bench-out") / "run"
    rep: dict[str, Any] = {"meta": _meta(f"run {sc.name}", sc)}
    with Bar() as bar:
        eng = _guard(lambda: harness.run_engine(sc, tick=bar))
        base = _guard(lambda: harness.run_baseline(sc, tick=bar))
        out.mkdir(parents=True, exist_ok=True)
        rep["load"] = {"engine": eng.summary(), "baseline": base.summary(),
                       "ratios": report.load_ratios(eng, base)}
        plots = [report.plot_latency([eng, base], out / "latency.png",
                                     f"{sc.name}: end-to-end latency, {sc.streams} streams"),
                 report.plot_stages([eng, base], out / "stages.png")]
        if capacity_search:
            ce = capacity.search("engine", lambda n: harness.run_engine(sc, n, bar), sc.capacity)
            cb = capacity.search("baseline", lambda n: harness.run_baseline(sc, n, bar),
                                 sc.capacity)
            rep["capacity"] = {"engine": ce.summary(), "baseline": cb.summary(),
                               "budget_ms": sc.max_latency_ms, "target_fps": sc.fps,
                               "ratios": report.capacity_ratios(ce, cb)}
            plots.append(report.plot_capacity([ce, cb], sc.max_latency_ms, out / "capacity.png"))
    rep["plots"] = [str(p) for p in plots if p is not None]
    _finish(out, rep)


@bench_app.command("capacity")
def capacity_cmd(scenario: ScenarioArg = "batching", out: OutOpt = None, sets: SetOpt = None,
                 baseline: Annotated[bool, typer.Option(
                     "--baseline/--no-baseline", help="Search the baseline's too.")] = True,
                 ) -> None:
    """The most streams that hold the p99 budget at the target rate (ramp, then bisect)."""
    from vlmstream.bench import capacity, harness, report

    sc = _guard(lambda: _scenario(scenario, sets, {}))
    out = out or Path("bench-out") / "capacity"
    rep: dict[str, Any] = {"meta": _meta(f"capacity {sc.name}", sc)}
    with Bar() as bar:
        caps = [_guard(lambda: capacity.search("engine", lambda n: harness.run_engine(sc, n, bar),
                                               sc.capacity))]
        if baseline:
            caps.append(_guard(lambda: capacity.search(
                "baseline", lambda n: harness.run_baseline(sc, n, bar), sc.capacity)))
    rep["capacity"] = {c.system: c.summary() for c in caps}
    rep["capacity"].update(budget_ms=sc.max_latency_ms, target_fps=sc.fps)
    if len(caps) == 2:
        rep["capacity"]["ratios"] = report.capacity_ratios(caps[0], caps[1])
    out.mkdir(parents=True, exist_ok=True)
    rep["plots"] = [str(report.plot_capacity(caps, sc.max_latency_ms, out / "capacity.png"))]
    _finish(out, rep)


@bench_app.command()
def accuracy(scenario: ScenarioArg = "motion", out: OutOpt = None, sets: SetOpt = None,
             clip: Annotated[str | None, typer.Option(
                 help="Video file or render://NAME [the scenario's].")] = None,
             load: Annotated[int | None, typer.Option(
                 help="Other streams running beside the clip.")] = None) -> None:
    """Offline every-frame reference vs live under load: events P/R/F1, agreement, flicker."""
    from vlmstream.bench import accuracy as acc
    from vlmstream.bench import clips
    from vlmstream.bench.scenario import expand

    sc = _guard(lambda: _scenario(scenario, sets, {"accuracy.clip": clip,
                                                   "accuracy.load_streams": load}))
    path = _guard(lambda: clips.resolve(expand(sc.accuracy.clip)))
    out = out or Path("bench-out") / "accuracy"
    with Bar() as bar:
        res = _guard(lambda: acc.run_accuracy(path, sc, bar))
    _finish(out, {"meta": _meta(f"accuracy {sc.name}", sc), "accuracy": res})


@bench_app.command()
def throughput(out: OutOpt = None,
               files: Annotated[int, typer.Option(help="How many 720p files.")] = 8,
               seconds: Annotated[float, typer.Option(help="Length of each file.")] = 10.0,
               size: Annotated[str, typer.Option(help="Resize to WIDTHxHEIGHT.")] = "640x360",
               rounds: Annotated[int, typer.Option(help="Alternating rounds (ABBA).")] = 4) -> None:
    """Null-backend engine vs a plain PyAV decode+resize loop on the same 720p files."""
    from vlmstream.bench import clips
    from vlmstream.bench import throughput as tp

    out = out or Path("bench-out") / "throughput"
    with Bar() as bar:
        bar("rendering clips (cached)", 0, 1)
        paths = clips.hd_clips(files, seconds)
        bar("rendering clips (cached)", 1, 1)
        res = _guard(lambda: tp.compare_throughput(paths, size, rounds, bar))
    _finish(out, {"meta": _meta("throughput"), "throughput": res})


@bench_app.command()
def overhead(out: OutOpt = None,
             duration: Annotated[float, typer.Option(help="Measured seconds.")] = 10.0,
             policy: Annotated[str, typer.Option(help="Drop policy.")] = "latest") -> None:
    """Latency the pipeline adds (e2e minus backend time) on one live 30 fps stream."""
    from vlmstream.bench import overhead as oh

    out = out or Path("bench-out") / "overhead"
    with Bar() as bar:
        res = _guard(lambda: oh.measure_overhead(duration, policy, bar))
    _finish(out, {"meta": _meta("overhead"), "overhead": res})


@bench_app.command()
def compare(a: Annotated[Path, typer.Argument(help="Report A (report.json or its folder).")],
            b: Annotated[Path, typer.Argument(help="Report B.")]) -> None:
    """Print every number that differs between two reports, with B/A."""
    from vlmstream.bench.report import differences, load_report

    ra, rb = _guard(lambda: (load_report(a), load_report(b)))
    rows = differences(ra, rb)
    t = Table(title=f"{a} -> {b}")
    for col in ("measure", "A", "B", "B/A"):
        t.add_column(col, justify="left" if col == "measure" else "right")
    for k, va, vb, r in rows:
        t.add_row(k, *("-" if v is None else f"{v:g}" for v in (va, vb, r)))
    Console().print(t)
    if not rows:
        typer.echo("no differences")


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
