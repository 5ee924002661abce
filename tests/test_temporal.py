import numpy as np
import pytest

from vlmstream.frames import Frame, Output
from vlmstream.temporal import (
    EventTracker,
    Hysteresis,
    LabelHysteresis,
    MajorityVote,
    TemporalConfig,
    TemporalState,
)


def test_majority_vote_removes_single_frame_blips():
    v = MajorityVote(5)
    seq = ["a", "a", "b", "a", "a", "b", "b", "b", "a", "b"]
    out = [v.update(x) for x in seq]
    assert out[2] == "a"  # a lone "b" does not win
    assert out[-1] == "b"  # a sustained "b" does


def test_majority_vote_tie_goes_to_most_recent():
    v = MajorityVote(2)
    v.update("a")
    assert v.update("b") == "b"


def test_hysteresis_needs_enter_count_and_separate_thresholds():
    h = Hysteresis(enter=0.6, exit=0.4, enter_count=2, exit_count=2)
    # Hovering between the thresholds never flips the state.
    assert [h.update(s) for s in [0.5, 0.55, 0.45, 0.5]] == [False] * 4
    assert h.update(0.7) is False  # one score above enter is not enough
    assert h.update(0.65) is True
    assert h.update(0.5) is True  # between thresholds: stays on
    assert h.update(0.3) is True  # one below exit is not enough
    assert h.update(0.2) is False


def test_hysteresis_rejects_exit_above_enter():
    with pytest.raises(ValueError):
        Hysteresis(enter=0.3, exit=0.5)


def test_label_hysteresis_holds_until_new_label_wins_in_a_row():
    h = LabelHysteresis(enter_count=3)
    assert h.update("car") == "car"
    assert [h.update(x) for x in ["bus", "bus", "car", "bus", "bus"]] == ["car"] * 5
    assert h.update("bus") == "bus"


def test_event_tracker_start_end_with_times():
    t = EventTracker("cam", background=frozenset({None, "still"}))
    assert t.update("still", 1.0, 0) == []
    (start,) = t.update("motion", 2.0, 5)
    assert (start.kind, start.state, start.start_ts) == ("motion", "start", 2.0)
    assert t.update("motion", 2.5, 6) == []
    (end,) = t.update("still", 4.0, 9)
    assert (end.kind, end.state, end.start_ts, end.end_ts, end.start_seq, end.end_seq) == (
        "motion", "end", 2.0, 4.0, 5, 9)
    assert end.to_dict()["duration_s"] == 2.0


def test_switching_between_two_non_background_labels_ends_then_starts():
    t = EventTracker("cam")
    t.update("person", 1.0, 1)
    end, start = t.update("dog", 2.0, 2)
    assert (end.kind, end.state, start.kind, start.state) == ("person", "end", "dog", "start")
    (closing,) = t.close(3.0, 3)
    assert closing.kind == "dog" and closing.end_ts == 3.0


def test_temporal_state_smooths_flicker_into_one_event():
    st = TemporalState("cam", TemporalConfig(window=3, enter_count=2))
    raw = ["still"] * 3 + ["motion"] * 6 + ["still", "motion"] + ["still"] * 6
    events, labels = [], []
    for i, lab in enumerate(raw):
        f = Frame("cam", i, np.zeros((2, 2, 3), np.uint8), pts=i, arrival_ts=100.0 + i)
        label, ev = st.update(f, Output(label=lab))
        labels.append(label)
        events += ev
    kinds = [(e.kind, e.state) for e in events]
    assert kinds == [("motion", "start"), ("motion", "end")]  # the blip made no event
    assert sum(a != b for a, b in zip(labels, labels[1:])) == 2
