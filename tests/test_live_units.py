"""Live-ingest pieces that need no peer: time code, credentials, backoff, options, webcam."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from vlmstream.config import StreamConfig
from vlmstream.sources import SourceError, create_source
from vlmstream.sources.hwaccel import choose_hwaccel
from vlmstream.sources.ingest import ReconnectPolicy
from vlmstream.sources.live import TimeCode, redact, split_credentials
from vlmstream.sources.webcam import v4l2_options, webcam_device


def test_timecode_survives_resize_and_rejects_noise() -> None:
    img = np.full((240, 320, 3), 90, np.uint8)
    TimeCode.draw(img, 1_790_000_000.123)
    assert TimeCode.read(img) == pytest.approx(1_790_000_000.123, abs=0.001)
    small = cv2.resize(img, (160, 120), interpolation=cv2.INTER_AREA)
    assert TimeCode.read(small) == pytest.approx(1_790_000_000.123, abs=0.001)
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert TimeCode.read(noise) is None
    assert TimeCode.read(np.zeros((240, 320, 3), np.uint8)) is None


def test_credentials_are_split_out_and_redacted() -> None:
    target, shown = split_credentials("rtsp://bob:s%40cret@cam.local:554/live?x=1")
    assert target == "rtsp://bob:s%40cret@cam.local:554/live?x=1"
    assert shown == "rtsp://cam.local:554/live?x=1"
    target, shown = split_credentials("rtsp://cam/live", user="amy", password="p w")
    assert target == "rtsp://amy:p%20w@cam/live" and shown == "rtsp://cam/live"
    assert redact("cannot open rtsp://bob:pw@h/x and http://a:b@c/") == \
        "cannot open rtsp://h/x and http://c/"
    src = create_source("rtsp://bob:pw@127.0.0.1:9/cam")
    assert "pw" not in src.uri and "bob" not in src.uri


def test_reconnect_policy_options_and_backoff() -> None:
    policy, rest = ReconnectPolicy.split({"watchdog_s": "2", "transport": "udp",
                                          "fail_after": 3})
    assert policy.watchdog_s == 2.0 and policy.fail_after == 3 and rest == {"transport": "udp"}
    rng = random.Random(1)
    delays = [policy.delay(n, rng) for n in (1, 2, 3)]
    assert 0.25 <= delays[0] <= 0.5 and 0.5 <= delays[1] <= 1.0
    assert 24 <= delays[2] <= 36  # failed: slow retries
    long = ReconnectPolicy()
    assert max(long.delay(5, rng) for _ in range(50)) <= long.backoff_max_s
    with pytest.raises(ValueError, match="watchdog_s"):
        ReconnectPolicy.split({"watchdog_s": -1})
    with pytest.raises(ValueError, match="watchdog_s"):
        StreamConfig(source="rtsp://h/x", options={"watchdog_s": 0})


def test_bad_source_options_are_clear() -> None:
    with pytest.raises(SourceError, match="transport 'quic'"):
        create_source("rtsp://h/x", transport="quic")
    with pytest.raises(SourceError, match="whip://127.0.0.1:8889"):
        create_source("whip://nowhere")


def test_webcam_uri_and_capture_options() -> None:
    assert webcam_device("webcam://2") == "/dev/video2"
    assert webcam_device("webcam:///dev/video7") == "/dev/video7"
    with pytest.raises(SourceError, match="camera index"):
        webcam_device("webcam://front")
    assert v4l2_options(640, 480, 15, "mjpeg") == {
        "video_size": "640x480", "framerate": "15", "input_format": "mjpeg"}
    with pytest.raises(SourceError, match="both width and height"):
        v4l2_options(640, None, None, None)
    src = create_source("webcam://63", width=320, height=240, fps=30)
    with pytest.raises(SourceError, match="no camera at /dev/video63") as e:
        src.open()
    assert e.value.retryable
    # A bare device path is a webcam too, not a file.
    with pytest.raises(SourceError, match="no camera at /dev/video62"):
        create_source("/dev/video62").open()


def test_software_decode_is_chosen_and_named_without_gpu() -> None:
    hw, note = choose_hwaccel("auto")
    if hw is None:
        assert note.startswith("software")
        with pytest.raises(SourceError, match="hwaccel=cuda"):
            choose_hwaccel("cuda")
    else:
        assert note.startswith("nvidia")
    assert choose_hwaccel("none") == (None, "software (hwaccel=none)")
