"""Make per-frame labels trustworthy over time: majority vote, then hysteresis.

A raw model label flickers when a frame is ambiguous. A majority vote over the last few
results removes single-frame blips; hysteresis then requires a new label to win several
results in a row before the stream's state changes (and the old one to lose as many
before it is left), so state changes are rare, deliberate and reportable as events.
"""

from __future__ import annotations

from collections import Counter, deque


class MajorityVote:
    """The most common label in the last ``window`` results; ties go to the most recent."""

    def __init__(self, window: int = 5) -> None:
        if window < 1:
            raise ValueError("smoothing window must be at least 1")
        self._labels: deque[str | None] = deque(maxlen=window)

    def update(self, label: str | None) -> str | None:
        self._labels.append(label)
        counts = Counter(self._labels)
        best = max(counts.values())
        for lab in reversed(self._labels):
            if counts[lab] == best:
                return lab
        return label  # unreachable: the deque holds at least the label just added


class Hysteresis:
    """A binary state driven by a score, with separate enter and exit thresholds and counts.

    The state turns on after ``enter_count`` consecutive scores >= ``enter`` and off after
    ``exit_count`` consecutive scores < ``exit`` (exit <= enter): a score hovering near one
    threshold cannot make it flicker.
    """

    def __init__(self, enter: float, exit: float, *, enter_count: int = 1, exit_count: int = 1) -> None:
        if exit > enter:
            raise ValueError(f"hysteresis exit threshold {exit} must not exceed enter {enter}")
        self.enter, self.exit = enter, exit
        self.enter_count, self.exit_count = max(1, enter_count), max(1, exit_count)
        self.on = False
        self._run = 0

    def update(self, score: float) -> bool:
        if self.on:
            self._run = self._run + 1 if score < self.exit else 0
            if self._run >= self.exit_count:
                self.on, self._run = False, 0
        else:
            self._run = self._run + 1 if score >= self.enter else 0
            if self._run >= self.enter_count:
                self.on, self._run = True, 0
        return self.on


class LabelHysteresis:
    """The stream's stable label changes only after a new label has been the (smoothed)
    winner ``enter_count`` times in a row; until then the old label stands."""

    def __init__(self, enter_count: int = 2) -> None:
        self.enter_count = max(1, enter_count)
        self.stable: str | None = None
        self._candidate: str | None = None
        self._run = 0
        self._started = False

    def update(self, label: str | None) -> str | None:
        if not self._started:
            self._started, self.stable = True, label
            return label
        if label == self.stable:
            self._candidate, self._run = None, 0
            return self.stable
        if label == self._candidate:
            self._run += 1
        else:
            self._candidate, self._run = label, 1
        if self._run >= self.enter_count:
            self.stable, self._candidate, self._run = label, None, 0
        return self.stable
