"""Tracking, counts, zones, lines and pose actions on boxes with known motion."""

import numpy as np

from vlmstream.frames import Box, Frame, Output
from vlmstream.temporal import ActionRules, Geometry, ObjectTracker, TemporalConfig, TemporalState


def walkers(t: int) -> list[Box]:
    """Two people walking right at 10 px/frame and a car standing still."""
    return [Box(10 + 10 * t, 100, 50 + 10 * t, 200, 0.9, "person", 0),
            Box(400 - 10 * t, 300, 440 - 10 * t, 400, 0.85, "person", 0),
            Box(500, 50, 600, 120, 0.8, "car", 2)]


def test_ids_persist_and_counts_are_kept():
    tr = ObjectTracker("cam")
    ids = []
    for t in range(20):
        out = Output(label="person", boxes=walkers(t))
        tr.update(out, ts=t / 10, seq=t, size=(640, 480))
        ids.append({(b.label, round(b.y1)): b.track_id for b in out.boxes})
    late = ids[5:]
    for key in ((("person", 100)), ("person", 300), ("car", 50)):
        assert len({d[key] for d in late}) == 1 and late[0][key] is not None, key
    assert len({late[0][k] for k in late[0]}) == 3  # three different ids
    assert out.extra["counts"] == {"person": 2, "car": 1}
    assert out.extra["unique"] == {"person": 2, "car": 1}


def test_line_crossings_and_zone_events():
    geo = Geometry(zones={"left": [(0, 0), (0.25, 0), (0.25, 1), (0, 1)]},
                   lines={"mid": ((320, 0), (320, 480))})
    tr = ObjectTracker("cam", geo)
    events = []
    for t in range(40):
        out = Output(boxes=walkers(t))
        events += tr.update(out, ts=t / 10, seq=t, size=(640, 480))
    crosses = [e for e in events if e.kind == "line_cross"]
    assert len(crosses) == 2  # each walker crossed the middle once
    assert {e.data["direction"] for e in crosses} == {"in", "out"}
    assert sum(out.extra["lines"]["mid"].values()) == 2
    zone = [(e.kind, e.state) for e in events if e.kind == "zone:left"]
    assert zone[0] == ("zone:left", "start") and ("zone:left", "end") in zone


def person(cx: float, cy: float, lying: bool = False) -> Box:
    """A 100 px tall person (or lying 100 px long) with shoulder and hip keypoints."""
    kp = [(cx, cy, 0.0)] * 17
    if lying:
        kp[5] = kp[6] = (cx - 40, cy, 0.9)
        kp[11] = kp[12] = (cx + 10, cy, 0.9)
        return Box(cx - 50, cy - 20, cx + 50, cy + 20, 0.9, "person", 0, track_id=1, keypoints=kp)
    kp[5] = kp[6] = (cx, cy - 30, 0.9)
    kp[11] = kp[12] = (cx, cy + 10, 0.9)
    return Box(cx - 20, cy - 50, cx + 20, cy + 50, 0.9, "person", 0, track_id=1, keypoints=kp)


def test_pose_action_rules():
    for speed_px_s, expected in ((0, "standing"), (80, "walking"), (300, "running")):
        rules = ActionRules()
        for i in range(11):
            b = person(100 + speed_px_s * i / 10, 200)
            rules.update([b], ts=i / 10)
        assert b.action == expected, (speed_px_s, b.action)
    b = person(100, 200, lying=True)
    ActionRules().update([b], ts=0.0)
    assert b.action == "lying"


def test_temporal_state_tracks_detect_outputs():
    st = TemporalState("cam", TemporalConfig(), track=True)
    for t in range(6):
        f = Frame("cam", t, np.zeros((480, 640, 3), np.uint8), pts=t / 10, arrival_ts=100 + t / 10)
        out = Output(label="person", boxes=walkers(t))
        st.update(f, out)
    assert all(b.track_id is not None for b in out.boxes)
