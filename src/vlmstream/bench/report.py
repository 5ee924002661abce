"""Reports: one JSON (everything), one Markdown (the tables people read), PNG plots; and the
differences between two reports (``vlmstream bench compare``)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from vlmstream.bench.capacity import CapacityResult
from vlmstream.bench.harness import RunResult
from vlmstream.metrics import plot_latency_histogram


def machine() -> dict[str, Any]:
    import psutil

    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "date": _dt.datetime.now().isoformat(timespec="seconds")}


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else round(a / b, 3)


def load_ratios(engine: RunResult, base: RunResult) -> dict[str, float | None]:
    """Engine divided by baseline (p99: lower is better; the others: higher is better)."""
    return {"p99": ratio(engine.p99, base.p99),
            "analysed_fps": ratio(engine.analysed_fps, base.analysed_fps)}


def capacity_ratios(engine: CapacityResult, base: CapacityResult) -> dict[str, float | None]:
    def best_fps(c: CapacityResult) -> float | None:
        held = [p.analysed_fps for p in c.probes if p.holds]
        return max(held) if held else None

    return {"streams_held": ratio(engine.held, base.held),
            "analysed_fps_at_capacity": ratio(best_fps(engine), best_fps(base))}


# -- plots -------------------------------------------------------------------------------
def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_latency(runs: list[RunResult], path: Path, title: str) -> Path | None:
    series = {f"{r.system} ({r.streams} streams)": r.e2e_ms for r in runs if r.e2e_ms.size}
    return plot_latency_histogram(series, path, title=title) if series else None


def plot_capacity(caps: list[CapacityResult], budget_ms: float, path: Path) -> Path:
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for c in caps:
        probes = sorted(c.probes, key=lambda r: r.streams)
        xs = [p.streams for p in probes]
        ax1.plot(xs, [p.p99 if p.p99 is not None else np.nan for p in probes], "o-",
                 label=f"{c.system} (holds {c.held})")
        ax2.plot(xs, [p.fps_share_min for p in probes], "o-", label=c.system)
    ax1.axhline(budget_ms, color="grey", linestyle="--", linewidth=1, label="budget")
    ax1.set(xlabel="streams", ylabel="p99 end-to-end (ms)", title="p99 latency vs streams")
    ax1.set_xscale("log", base=2)
    ax2.set(xlabel="streams", ylabel="worst stream: analysed fps / target",
            title="rate held vs streams")
    ax2.set_xscale("log", base=2)
    ax1.legend()
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_stages(runs: list[RunResult], path: Path) -> Path:
    """Per-stage p50 and p99 (ms) for each system, side by side."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 4), dpi=100, squeeze=False)
    for ax, r in zip(axes[0], runs, strict=True):
        names = list(r.stage_ms)
        p50 = [float(np.percentile(r.stage_ms[n], 50)) for n in names]
        p99 = [float(np.percentile(r.stage_ms[n], 99)) for n in names]
        y = np.arange(len(names))
        ax.barh(y - 0.2, p50, height=0.4, label="p50")
        ax.barh(y + 0.2, p99, height=0.4, label="p99")
        ax.set_yticks(y, [f"->{n}" for n in names])
        ax.invert_yaxis()
        ax.set(xlabel="ms", title=f"{r.system}: time to reach each stage")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# -- writing -----------------------------------------------------------------------------
def write(out: Path, report: dict[str, Any]) -> list[Path]:
    """report.json and report.md in ``out`` (plots are written by the caller first and
    listed in ``report['plots']``)."""
    out.mkdir(parents=True, exist_ok=True)
    j = out / "report.json"
    j.write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
    md = out / "report.md"
    md.write_text(markdown(report))
    return [j, md]


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON: {type(o).__name__}")


def _f(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_f(c) if not isinstance(c, str) else c for c in r) + " |"
              for r in rows]
    return "\n".join(lines) + "\n"


def markdown(report: dict[str, Any]) -> str:
    """The tables of a report, in the order sections appear in it."""
    meta = report.get("meta", {})
    parts = [f"# vlmstream bench: {meta.get('title', 'report')}\n",
             f"`{meta.get('command', '')}`  \n{meta.get('machine', {}).get('date', '')}, "
             f"{meta.get('machine', {}).get('cores', '?')} cores\n"]
    if "load" in report:
        ld = report["load"]
        rows = []
        for name in ("engine", "baseline"):
            s = ld.get(name)
            if s:
                e = s["e2e_ms"]
                rows.append([name, s["streams"], e["p50"], e["p95"], e["p99"], e["max"],
                             s["analysed_fps_total"], s["fps_share_min"],
                             ", ".join(f"{k} {v}" for k, v in sorted(s["drops"].items())) or "-",
                             s["resources"].get("cpu_pct_mean"), s["resources"].get("rss_mb_max")])
        parts.append("## Load: engine and baseline on the same streams\n")
        parts.append(_table(["system", "streams", "p50 ms", "p95 ms", "p99 ms", "max ms",
                             "analysed fps", "worst share", "drops", "CPU %", "RSS MB"], rows))
        if ld.get("ratios"):
            parts.append("Engine / baseline: " + ", ".join(
                f"{k} {_f(v, 3)}" for k, v in ld["ratios"].items()) + "\n")
        stage_rows = []
        for name in ("engine", "baseline"):
            s = ld.get(name)
            for stage, p in (s or {}).get("stages_ms", {}).items():
                stage_rows.append([name, f"->{stage}", p["p50"], p["p99"]])
        if stage_rows:
            parts.append("\nPer stage (time from the previous stage):\n\n")
            parts.append(_table(["system", "stage", "p50 ms", "p99 ms"], stage_rows))
    if "capacity" in report:
        cap = report["capacity"]
        parts.append("\n## Capacity: most streams that hold the target rate inside the p99 "
                     "budget\n")
        rows = []
        for name in ("engine", "baseline"):
            c = cap.get(name)
            if c:
                for p in c["probes"]:
                    rows.append([name, p["streams"], p["p99_ms"], p["fps_share_min"],
                                 p["analysed_fps_total"], p["holds"]])
        parts.append(_table(["system", "streams", "p99 ms", "worst share", "analysed fps",
                             "holds"], rows))
        held = ", ".join(f"{n}: {cap[n]['held']}{'+' if cap[n]['reached_max'] else ''}"
                         for n in ("engine", "baseline") if n in cap)
        parts.append(f"\nStreams held: {held}. ")
        if cap.get("ratios"):
            parts.append("Engine / baseline: " + ", ".join(
                f"{k} {_f(v, 3)}" for k, v in cap["ratios"].items()) + "\n")
    if "throughput" in report:
        t = report["throughput"]
        parts.append("\n## Decode throughput: null backend vs plain PyAV\n")
        parts.append(_table(["files", "size", "rounds", "engine fps", "PyAV fps", "ratio",
                             "target"], [[t["files"], t["size"], t["rounds"],
                                          t["engine_fps_median"], t["pyav_fps_median"],
                                          t["ratio"], t["target_ratio"]]]))
    if "overhead" in report:
        o = report["overhead"]
        a = o["added_ms"]
        parts.append("\n## Latency the pipeline adds (e2e minus backend)\n")
        parts.append(_table(["stream", "policy", "results", "p50 ms", "p95 ms", "p99 ms",
                             "max ms", "target p99"],
                            [[o["stream"], o["policy"], o["results"], a["p50"], a["p95"],
                              a["p99"], a["max"], o["target_p99_ms"]]]))
    if "accuracy" in report:
        a = report["accuracy"]
        ev, ag, fl = a["events"], a["top1_agreement"], a["flicker_per_min"]
        parts.append("\n## Streaming accuracy: live under load vs offline every frame\n")
        parts.append(f"Clip `{Path(a['clip']).name}` ({a['clip_frames']} frames, "
                     f"{a['clip_seconds']} s), backend {a['backend']}, live at {a['target_fps']} "
                     f"fps beside {a['load_streams']} other streams; analysed "
                     f"{a['live_analysed_frames']} frames ({a['live_analysed_share']}).\n\n")
        parts.append(_table(["measure", "value"], [
            ["events: reference / live / matched",
             f"{ev['reference_events']} / {ev['live_events']} / {ev['matched']}"],
            ["event precision", ev["precision"]], ["event recall", ev["recall"]],
            ["event F1", ev["f1"]],
            ["top-1 agreement, analysed frames (raw)", ag["analysed_frames_raw"]],
            ["top-1 agreement, every frame (label shown)", ag["every_frame_held"]],
            ["flicker/min reference raw -> smoothed",
             f"{_f(fl['reference_raw'])} -> {_f(fl['reference_smoothed'])}"],
            ["flicker/min live raw -> smoothed",
             f"{_f(fl['live_raw'])} -> {_f(fl['live_smoothed'])}"],
            *[[f"detection mAP50-95 ({k})", v["map50_95"]]
              for k, v in a.get("detection_map", {}).items()],
        ]))
    if report.get("plots"):
        parts.append("\n## Plots\n\n" + "\n".join(f"![{Path(p).stem}]({Path(p).name})"
                                                  for p in report["plots"]) + "\n")
    return "\n".join(parts)


# -- compare -----------------------------------------------------------------------------
def load_report(path: Path) -> dict[str, Any]:
    p = path / "report.json" if path.is_dir() else path
    if not p.exists():
        raise FileNotFoundError(f"{p} not found; give a report.json or the folder holding it")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{p} is not a bench report ({e})") from None


def _leaves(d: Any, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            if k in ("meta", "plots", "probes", "engine_runs", "pyav_runs", "resources"):
                continue
            out.update(_leaves(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(d, bool):
        out[prefix] = float(d)
    elif isinstance(d, int | float):
        out[prefix] = float(d)
    return out


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, float | None,
                                                                     float | None, float | None]]:
    """(key, A, B, B/A) for every number either report has, where they differ."""
    la, lb = _leaves(a), _leaves(b)
    rows = []
    for k in sorted(set(la) | set(lb)):
        va, vb = la.get(k), lb.get(k)
        if va != vb:
            rows.append((k, va, vb, ratio(vb, va)))
    return rows
