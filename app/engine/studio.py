"""The studio effects' place in a frame (issue 15), each timed as its own bench stage.

`on_alpha` runs on the person's alpha before compositing (effects that change who is the
person: only the main person); `on_output` runs on the composited frame (effects on the
picture: vignette). Effects on the person's pixels (light, touch-up) belong in `on_output`
with the alpha beside it, as the output's person pixels are the frame's.
"""

from __future__ import annotations

import time

import numpy as np

from app.engine.stats import PipelineStats
from app.settings import StudioSettings
from compositing.vignette import Vignette
from segmentation.main_person import MainPerson


class StudioStage:
    """Holds each studio effect's state; `configure` follows the settings live."""

    def __init__(self, settings: StudioSettings) -> None:
        self._settings = settings
        self._main_person = MainPerson()
        self._vignette = Vignette()
        self.configure(settings)

    def configure(self, settings: StudioSettings) -> None:
        if settings.main_person != self._settings.main_person:
            self._main_person.reset()
        self._settings = settings
        self._vignette.strength = settings.vignette

    def reset(self) -> None:
        """A new source or model: tracked choices from before are stale."""
        self._main_person.reset()

    def on_alpha(self, alpha: np.ndarray, stats: PipelineStats) -> np.ndarray:
        if not self._settings.main_person:
            return alpha
        started_s = time.perf_counter()
        alpha = self._main_person.keep(alpha)
        stats.stage("main_person", _ms_since(started_s))
        return alpha

    def on_output(self, output_bgr: np.ndarray, alpha: np.ndarray,
                  stats: PipelineStats) -> np.ndarray:
        del alpha  # for the effects on the person's pixels (light, touch-up)
        if self._settings.vignette > 0.0:
            started_s = time.perf_counter()
            output_bgr = self._vignette.apply(output_bgr)
            stats.stage("vignette", _ms_since(started_s))
        return output_bgr


def _ms_since(started_s: float) -> float:
    return (time.perf_counter() - started_s) * 1000.0
