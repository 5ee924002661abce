"""Real protocol peers for the live-ingest tests, each in its own process on loopback:
an RTSP server (gst-rtsp-server), a live HLS publisher + HTTP server, a WHIP publisher.

Every peer is a context manager that kills its process on exit, so no test leaves one
behind; ``kill``/``restart``/``freeze``/``thaw`` are the faults the tests inject.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def have_gst_rtsp_server() -> bool:
    """Debian's gir1.2-gst-rtsp-server-1.0 and the x264 plugin are installed."""
    return (Path("/usr/lib/python3/dist-packages/gi").is_dir()
            and any(Path(p).exists() for p in (
                "/usr/lib/x86_64-linux-gnu/girepository-1.0/GstRtspServer-1.0.typelib",
                "/usr/lib/aarch64-linux-gnu/girepository-1.0/GstRtspServer-1.0.typelib"))
            and any(Path(p).exists() for p in (
                "/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstx264.so",
                "/usr/lib/aarch64-linux-gnu/gstreamer-1.0/libgstx264.so")))


class Peer:
    """A peer process started from ``args``; ``ready_line`` is what it prints when ready."""

    def __init__(self, args: list[str], ready_line: str = "READY", timeout_s: float = 20.0):
        self.args, self.ready_line, self.timeout_s = args, ready_line, timeout_s
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> Peer:
        self.proc = subprocess.Popen([sys.executable, *self.args], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.time() + self.timeout_s
        out = b""
        while time.time() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                chunk = os.read(fd, 4096)
                out += chunk
                if self.ready_line.encode() in out:
                    return self
                if not chunk and self.proc.poll() is not None:
                    break
        self.kill()
        raise RuntimeError(f"peer {Path(self.args[0]).name} did not start: "
                           f"{out.decode(errors='replace').strip() or 'no output'}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def restart(self) -> None:
        self.kill()
        self.start()

    def freeze(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGCONT)

    def __enter__(self) -> Peer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.thaw()
        self.kill()


def rtsp_server(port: int, path: str = "/cam", *, user: str | None = None,
                password: str | None = None, slices: int = 0, fps: int = 30,
                size: str = "320x240") -> Peer:
    args = [str(HERE / "rtsp_server.py"), "--port", str(port), "--path", path,
            "--fps", str(fps), "--size", size, "--slices", str(slices)]
    if user:
        args += ["--user", user, "--password", password or ""]
    return Peer(args)


def hls_server(port: int, directory: Path, *, fps: int = 30, size: str = "320x240") -> Peer:
    return Peer([str(HERE / "hls_server.py"), "--port", str(port), "--dir", str(directory),
                 "--fps", str(fps), "--size", size], timeout_s=30.0)


def whip_publisher(url: str, *, fps: int = 30, size: str = "320x240",
                   token: str | None = None) -> Peer:
    args = [str(HERE / "whip_publisher.py"), url, "--fps", str(fps), "--size", size]
    return Peer(args + (["--token", token] if token else []), ready_line="PUBLISHING",
                timeout_s=30.0)
