"""Webcams through V4L2: ``webcam://0`` (index) or ``webcam:///dev/video2`` (device).

``width``/``height``/``fps``/``input_format`` (e.g. mjpeg) are asked of the camera itself;
``size`` still resizes after decode."""

from __future__ import annotations

import os
from typing import Any

from vlmstream.sources.base import SourceError, register_scheme
from vlmstream.sources.live import LiveAVSource


def webcam_device(uri: str) -> str:
    """``webcam://0`` -> /dev/video0; ``webcam:///dev/video2`` -> /dev/video2."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    if rest.isdigit():
        return f"/dev/video{rest}"
    if rest.startswith("/dev/"):
        return rest
    raise SourceError(f"{uri}: give a camera index (webcam://0) or a device "
                      "(webcam:///dev/video0)")


def v4l2_options(width: int | None, height: int | None, fps: float | None,
                 input_format: str | None) -> dict[str, str]:
    """What to ask the camera for (FFmpeg's v4l2 demuxer options)."""
    opts: dict[str, str] = {}
    if (width is None) != (height is None):
        raise SourceError("give both width and height for a webcam, or neither")
    if width is not None:
        opts["video_size"] = f"{int(width)}x{int(height)}"  # type: ignore[arg-type]
    if fps is not None:
        if fps <= 0:
            raise SourceError(f"webcam fps must be positive, got {fps}")
        opts["framerate"] = f"{fps:g}"
    if input_format:
        opts["input_format"] = input_format
    return opts


@register_scheme("webcam", "v4l2")
class WebcamSource(LiveAVSource):
    def __init__(self, uri: str, *, width: int | None = None, height: int | None = None,
                 fps: float | None = None, input_format: str | None = None,
                 **options: Any) -> None:
        self.device = webcam_device(uri)
        av_options = {**v4l2_options(width, height, fps, input_format),
                      **options.pop("av_options", {})}
        super().__init__(uri, av_options=av_options, **options)
        self.av_format = "v4l2"

    def _av_target(self) -> str:
        return self.device

    def open(self):  # type: ignore[no-untyped-def]
        if not os.path.exists(self.device):
            raise SourceError(f"{self.uri}: no camera at {self.device}; list cameras with "
                              "`ls /dev/video*`", retryable=True)
        return super().open()
