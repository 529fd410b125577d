"""Graceful degradation: when frames take longer than the camera gives us, do less, in steps.

Rather than building latency or freezing, Backdrop first drops 'best' refinement to 'fast',
then switches to the lighter landscape model, then segments every other frame and carries the
mask forward. It says which step it took, and steps back when the load drops.
"""

from __future__ import annotations

import collections
import dataclasses

# Step up when the mean frame time over the window exceeds this share of the frame budget.
OVERLOAD_SHARE = 0.85
# Step back down when it stays below this share (hysteresis, so levels do not oscillate).
RELAXED_SHARE = 0.45
WINDOW_FRAMES = 45
# After a change, give the new level this many frames before judging again.
SETTLE_FRAMES = 60

STEP_MESSAGES = (
    "",
    "Backdrop could not keep up, so edge refinement is now 'fast'.",
    "Backdrop could not keep up, so it now uses the lighter landscape model.",
    "Backdrop could not keep up, so it now segments every other frame.",
)
MAX_LEVEL = len(STEP_MESSAGES) - 1


@dataclasses.dataclass(frozen=True)
class Degradation:
    """What the current level changes; `level` 0 changes nothing."""

    level: int = 0

    @property
    def refinement_cap(self) -> str | None:
        return "fast" if self.level >= 1 else None

    @property
    def force_landscape(self) -> bool:
        return self.level >= 2

    @property
    def every_other_frame(self) -> bool:
        return self.level >= 3

    @property
    def message(self) -> str:
        return STEP_MESSAGES[self.level]


class LoadGovernor:
    """Watches frame times against the frame budget and picks a degradation level.

    `applicable(level)` says whether a level would change anything for the current settings
    (no point dropping 'best' when refinement is already 'fast'), so useless steps are skipped.
    """

    def __init__(self) -> None:
        self.level = 0
        self._times_ms: collections.deque[float] = collections.deque(maxlen=WINDOW_FRAMES)
        self._settle = SETTLE_FRAMES

    def observe(
        self, busy_ms: float, budget_ms: float, applicable: object = None
    ) -> Degradation | None:
        """Record one frame; return the new Degradation when the level changes, else None."""
        if self._settle > 0:  # frames right after a change show the old level's backlog
            self._settle -= 1
            return None
        self._times_ms.append(busy_ms)
        if len(self._times_ms) < WINDOW_FRAMES or budget_ms <= 0:
            return None
        mean_ms = sum(self._times_ms) / len(self._times_ms)
        check = applicable if callable(applicable) else (lambda _level: True)
        if mean_ms > OVERLOAD_SHARE * budget_ms and self.level < MAX_LEVEL:
            new_level = self.level + 1
            while new_level < MAX_LEVEL and not check(new_level):
                new_level += 1
            return self._change(new_level)
        if mean_ms < RELAXED_SHARE * budget_ms and self.level > 0:
            new_level = self.level - 1
            while new_level > 0 and not check(new_level):
                new_level -= 1
            return self._change(new_level)
        return None

    def _change(self, level: int) -> Degradation:
        self.level = level
        self._times_ms.clear()
        self._settle = SETTLE_FRAMES
        return Degradation(level)
