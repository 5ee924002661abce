"""Small pieces every command shares: one-line errors, KEY=VALUE options, logging."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from vlmstream.config import ConfigError

err = Console(stderr=True)


def fail(msg: str, code: int = 2) -> typer.Exit:
    """Print one clear error line; raise what this returns."""
    err.print(f"[bold red]error:[/] {escape(msg)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def parse_kv(items: list[str] | None, option: str = "--backend-opt",
             parse: Callable[[str], Any] = str.strip) -> dict[str, Any]:
    """KEY=VALUE pairs from a repeated option; ``parse`` turns each value into its type."""
    out: dict[str, Any] = {}
    for it in items or []:
        if "=" not in it:
            raise ConfigError(f"{option} {it!r} is not KEY=VALUE")
        k, v = it.split("=", 1)
        out[k.strip()] = parse(v)
    return out


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # FFmpeg reports every concealed macroblock; sources count corrupt packets instead.
    logging.getLogger("libav").setLevel(logging.CRITICAL)
