"""The studio effects' place in a frame (issue 15), each timed as its own bench stage.

`on_alpha` runs on the person's alpha before compositing (effects that change who is the
person: only the main person); `on_output` runs on the composited frame, with the alpha in the
frame's coordinates beside it: framing (the crop), then the vignette (a lens effect on the
final picture). Effects on the person's pixels (light, touch-up) would go before framing.
"""

from __future__ import annotations

import time

import numpy as np

from app.engine.stats import PipelineStats, ms_since
from app.settings import StudioSettings
from compositing.framing import AutoFraming
from compositing.vignette import Vignette
from segmentation.main_person import MainPerson


class StudioStage:
    """Holds each studio effect's state; `configure` follows the settings live."""

    def __init__(self, settings: StudioSettings) -> None:
        self._settings = settings
        self._main_person = MainPerson()
        self._vignette = Vignette()
        self._framing = AutoFraming()
        self.configure(settings)

    def configure(self, settings: StudioSettings) -> None:
        if settings.main_person != self._settings.main_person:
            self._main_person.reset()
        if settings.framing != self._settings.framing:
            self._framing.reset()
        self._settings = settings
        self._vignette.strength = settings.vignette
        self._framing.zoom_max = settings.framing_zoom_max

    @property
    def framing_box(self) -> tuple[int, int, int, int] | None:
        """The framing crop (x, y, w, h) in the frame's pixels, or None with framing off."""
        return self._framing.box() if self._settings.framing == "auto" else None

    def reset(self) -> None:
        """A new source or model: tracked choices and the crop from before are stale."""
        self._main_person.reset()
        self._framing.reset()

    def on_alpha(self, alpha: np.ndarray, stats: PipelineStats) -> np.ndarray:
        if not self._settings.main_person:
            return alpha
        started_s = time.perf_counter()
        alpha = self._main_person.keep(alpha)
        stats.stage("main_person", ms_since(started_s))
        return alpha

    def on_output(self, output_bgr: np.ndarray, alpha: np.ndarray,
                  stats: PipelineStats) -> np.ndarray:
        if self._settings.framing == "auto":
            started_s = time.perf_counter()
            self._framing.update(alpha)
            output_bgr = self._framing.apply(output_bgr)
            stats.stage("framing", ms_since(started_s))
        if self._settings.vignette > 0.0:
            started_s = time.perf_counter()
            output_bgr = self._vignette.apply(output_bgr)
            stats.stage("vignette", ms_since(started_s))
        return output_bgr
