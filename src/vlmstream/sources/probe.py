"""``vlmstream probe URI``: open a source and say what it is and how fast it arrives —
codec, size, fps, keyframe interval, time to first picture and, when pictures carry a
time code, publish-to-decode latency."""

from __future__ import annotations

import json
import statistics
import time
from typing import Annotated, Any

import typer

from vlmstream.sources.base import SourceError, create_source


def probe(uri: str, *, frames: int = 60, timeout_s: float = 15.0,
          **options: Any) -> dict[str, Any]:
    """Read up to ``frames`` pictures (or ``timeout_s``) and report what was seen."""
    t0 = time.time()
    src = create_source(uri, **options)
    try:
        info = src.open()
        t_open = time.time() - t0
        first: float | None = None
        pts: list[float] = []
        lat: list[float] = []
        keyframe_gaps: list[int] = []
        last_key: int | None = None
        n = 0
        for d in src.frames():
            now = time.time()
            if first is None:
                first = now - t0
            if d.pts is not None:
                pts.append(d.pts)
            if d.capture_ts is not None:
                lat.append((now - d.capture_ts) * 1000.0)
            key = getattr(src, "last_keyframe", False)
            if key:
                if last_key is not None:
                    keyframe_gaps.append(n - last_key)
                last_key = n
            n += 1
            if n >= frames or now - t0 > timeout_s:
                break
    finally:
        src.close()
    steps = [b - a for a, b in zip(pts, pts[1:]) if b > a]
    fps = round(1.0 / statistics.median(steps), 2) if steps else info.fps
    out: dict[str, Any] = {
        "uri": info.uri, "codec": info.codec, "width": info.width, "height": info.height,
        "fps_declared": info.fps, "fps_measured": fps, "live": info.live,
        "decoder": info.extra.get("decode", info.decoder), "frames_read": n,
        "open_s": round(t_open, 3), "first_frame_s": None if first is None else round(first, 3),
        "keyframe_interval": (round(statistics.median(keyframe_gaps))
                              if keyframe_gaps else None),
        "corrupt_packets": src.counters.corrupt_packets,
    }
    if lat:
        q = statistics.quantiles(lat, n=20) if len(lat) >= 2 else [lat[0]] * 19
        out["latency_ms"] = {"p50": round(statistics.median(lat), 1), "p95": round(q[18], 1),
                             "n": len(lat)}
    return out


def register(app: typer.Typer) -> None:
    @app.command("probe")
    def probe_cmd(
        uri: Annotated[str, typer.Argument(help="rtsp://, http(s)://...m3u8, whip://, "
                                                "webcam://0, a file ...")],
        frames: Annotated[int, typer.Option(help="Pictures to read.")] = 60,
        timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 15.0,
        opt: Annotated[list[str] | None, typer.Option(
            "--opt", help="Source option KEY=VALUE (repeatable), e.g. transport=udp, "
                          "timecode=true.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Open a source and print codec, size, fps, keyframe interval, time to first
        picture and latency (if the pictures carry a time code)."""
        options: dict[str, Any] = {}
        for it in opt or []:
            if "=" not in it:
                typer.echo(f"error: --opt {it!r} is not KEY=VALUE", err=True)
                raise typer.Exit(2)
            k, v = it.split("=", 1)
            options[k.strip()] = _value(v.strip())
        try:
            report = probe(uri, frames=frames, timeout_s=timeout, **options)
        except (SourceError, TypeError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
        if as_json:
            typer.echo(json.dumps(report))
        else:
            for k, v in report.items():
                typer.echo(f"{k:18} {v}")


def _value(v: str) -> Any:
    """'true' -> True, '5' -> 5.0, anything else stays a string."""
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    try:
        return float(v)
    except ValueError:
        return v
