"""Streaming accuracy: event matching, agreement, flicker, mAP (hand-made), and a real
offline-vs-live run on a rendered clip."""

from __future__ import annotations

import pytest

from vlmstream.bench import accuracy as acc
from vlmstream.bench import clips
from vlmstream.bench.accuracy import ClipRun, Labelled
from vlmstream.bench.scenario import AccuracySpec, Scenario
from vlmstream.config import BackendConfig, TaskConfig
from vlmstream.frames import Box, Event


def ev(kind: str, state: str, seq: int) -> Event:
    return Event("clip", kind, state, start_ts=0.0, start_seq=seq,
                 end_seq=seq if state != "start" else None)


def test_events_match_by_kind_state_and_time() -> None:
    ref = [ev("motion", "start", 10), ev("motion", "end", 40), ev("scene_cut", "instant", 100)]
    got = [ev("motion", "start", 14), ev("motion", "end", 80), ev("motion", "start", 90)]
    assert acc.match_events(ref, got, tolerance_frames=5) == (1, 2, 2)
    s = acc.event_scores(ref, got, tolerance_frames=5)
    assert (s["precision"], s["recall"]) == (pytest.approx(1 / 3, abs=1e-3),
                                             pytest.approx(1 / 3, abs=1e-3))
    # Each live event pairs with at most one reference event, nearest first.
    dup = [ev("motion", "start", 10), ev("motion", "start", 12)]
    assert acc.match_events(dup, [ev("motion", "start", 11)], 5) == (1, 1, 0)
    assert acc.event_scores([], [], 5)["f1"] is None


def test_agreement_and_flicker() -> None:
    assert acc.agreement(["a", "b", None, "a"], ["a", "a", None, "a"]) == 0.75
    assert acc.flicker_per_min(["a", "b", "a", "a"], 30.0) == 4.0
    assert acc.flicker_per_min(["a"], 30.0) is None


def test_detection_map_with_hand_made_boxes() -> None:
    person = Box(10, 10, 50, 90, score=0.9, class_id=0)
    car = Box(100, 40, 180, 80, score=0.8, class_id=2)
    ref = [[person, car], [person]]
    assert acc.detection_map(ref, ref)["map50_95"] == 1.0
    moved = [[Box(30, 10, 70, 90, 0.9, class_id=0), car], [Box(30, 10, 70, 90, 0.9, class_id=0)]]
    half = acc.detection_map(ref, moved)["map50_95"]
    assert 0.0 < half < 1.0
    wrong_class = [[Box(10, 10, 50, 90, 0.9, class_id=1)], []]
    assert acc.detection_map(ref, wrong_class)["map50_95"] == 0.0


def test_compare_holds_the_last_result_for_frames_not_analysed() -> None:
    ref = ClipRun({i: Labelled("still" if i < 5 else "motion", "still" if i < 5 else "motion",
                               [Box(0, 0, 10, 10, class_id=0)]) for i in range(10)},
                  [ev("motion", "start", 5)], 10, 10.0)
    got = ClipRun({0: Labelled("still", "still", []), 6: Labelled("motion", "motion",
                                                                  [Box(0, 0, 10, 10, 0.7, 0)])},
                  [ev("motion", "start", 6)], 10, 10.0)
    assert [h.label if h else None for h in got.held(10)] == ["still"] * 6 + ["motion"] * 4
    r = acc.compare(ref, got, task="detect", tolerance_s=0.2)
    assert r["live_analysed_share"] == 0.2
    assert r["top1_agreement"]["analysed_frames_raw"] == 1.0
    assert r["top1_agreement"]["every_frame_held"] == 0.9  # frame 5 still shows "still"
    assert r["events"]["f1"] == 1.0
    # Frame 0 missed its box, frame 6 found it: half the recall.
    assert 0.4 < r["detection_map"]["analysed_frames"]["map50_95"] < 0.6
    assert 0 < r["detection_map"]["every_frame_held"]["map50_95"] < 1
    assert "detection_map" not in acc.compare(ref, got, task="motion", tolerance_s=0.2)


def test_live_under_load_against_the_offline_reference(tmp_path) -> None:
    clip = clips.render("synthetic://?size=640x360&fps=30&duration=4&pattern=pulse&period=1"
                        "&cut_every=2.5&seed=1", tmp_path / "clip.mp4")
    sc = Scenario(name="t", fps=5, max_latency_ms=300,
                  source="synthetic://?size=160x90&fps=15&seed={seed}",
                  backend=BackendConfig(name="motion"), task=TaskConfig(kind="motion"),
                  accuracy=AccuracySpec(clip=str(clip), load_streams=2, event_tolerance_s=0.5))
    r = acc.run_accuracy(str(clip), sc)
    assert r["clip_frames"] == 120
    # Live at 5 fps analyses about a sixth of a 30 fps clip.
    assert 0.1 < r["live_analysed_share"] < 0.3
    ev_ = r["events"]
    assert ev_["reference_events"] >= 4 and ev_["live_events"] >= 1
    assert 0.0 <= ev_["f1"] <= 1.0
    assert 0.0 <= r["top1_agreement"]["every_frame_held"] <= 1.0
    fl = r["flicker_per_min"]
    assert fl["reference_smoothed"] <= fl["reference_raw"]


def test_unknown_rendered_clip_is_named() -> None:
    with pytest.raises(ValueError, match="unknown clip 'render://nope'.*pulse"):
        clips.resolve("render://nope")
