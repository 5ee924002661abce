"""A live console view (rich): per-stream state, analysed FPS, latency and drops."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"


def stream_table(rows: list[dict[str, Any]], title: str = "vlmstream") -> Table:
    """The per-stream table, used live and in the end-of-run summary."""
    t = Table(title=title, expand=False)
    for col in ("stream", "state", "fps", "target", "e2e p50", "p95", "p99", "in", "analysed",
                "dropped", "last error"):
        t.add_column(col, justify="left" if col in ("stream", "state", "dropped", "last error")
                     else "right")
    for r in rows:
        e2e = r.get("e2e_ms", {})
        drops = ", ".join(f"{k} {v}" for k, v in sorted(r.get("dropped", {}).items()) if v)
        t.add_row(escape(str(r.get("id"))), str(r.get("state", "")),
                  f"{r.get('fps_recent', r.get('fps', 0.0)):.1f}",
                  f"{r.get('effective_fps', r.get('target_fps', 0.0)):.1f}",
                  _ms(e2e.get("p50")), _ms(e2e.get("p95")), _ms(e2e.get("p99")),
                  str(r.get("frames_in", 0)), str(r.get("analysed", 0)), drops or "-",
                  escape((r.get("last_error") or "")[:120]))
    return t


class ConsoleView:
    """Redraws the table twice a second from ``rows()`` on its own thread."""

    def __init__(self, rows: Callable[[], list[dict[str, Any]]], console: Console | None = None,
                 refresh_s: float = 0.5) -> None:
        self._rows = rows
        self.console = console or Console(stderr=True)
        self.refresh_s = refresh_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console", daemon=True)
        self._saved_handlers: list[logging.Handler] | None = None

    def start(self) -> None:
        # Log lines go through the live console, above the table; written straight to the
        # terminal they would tear the table apart.
        root = logging.getLogger()
        self._saved_handlers = root.handlers[:]
        handler = RichHandler(console=self.console, show_time=False, show_path=False,
                              markup=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        root.handlers = [handler]
        self._thread.start()

    def _run(self) -> None:
        with Live(stream_table(self._rows()), console=self.console, auto_refresh=False,
                  transient=True) as live:
            while not self._stop.wait(self.refresh_s):
                live.update(stream_table(self._rows()), refresh=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        if self._saved_handlers is not None:
            logging.getLogger().handlers = self._saved_handlers
            self._saved_handlers = None
