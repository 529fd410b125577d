"""The studio effects' place in a frame (issue 15), each timed as its own bench stage.

`on_alpha` runs on the person's alpha before compositing (effects that change who is the
person: only the main person). `plan` then finds the face in the camera's frame (so a face in a
background image never counts) and moves auto-framing's crop (placed by the face when light or
touch-up found one, else by the top of the alpha); the compositor makes only the part of the
picture that the crop shows. The others run on the composited frame, with the alpha in the
frame's coordinates beside it: `on_person` first (effects on the person: denoise, then those
that follow the face, light and touch-up), then `on_output`: framing (the crop scaled back to
the frame's size, or to a meeting's smaller picture), then the vignette (a lens effect on the
final picture). Light measures the face on the camera's frame and lifts the composite where
the alpha is over half: lit before compositing, the person would bleed into a blurred
background as a bright halo.

The face detector is built when an effect first needs it: on a helper thread for live frames
(its first build takes most of a second; the effects start when it is ready), at once for
unpaced runs, which want every frame at full quality.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from app.engine.stats import PipelineStats, ms_since
from app.jobs import NewestJob
from app.settings import StudioSettings
from compositing.blend import on_tiles, tile_side_px
from compositing.denoise import Denoise
from compositing.framing import AutoFraming
from compositing.light import Light
from compositing.touchup import TouchUp, touch_up_region
from compositing.vignette import Vignette
from segmentation.faces import BlazeFaceDetector, Face, FaceTracker
from segmentation.main_person import MainPerson
from segmentation.models import ModelError


class FaceDetector(Protocol):
    def detect(self, input_rgb: np.ndarray, timestamp_ms: int) -> list[Face]: ...

    def close(self) -> None: ...


class StudioStage:
    """Holds each studio effect's state; `configure` follows the settings live.

    `new_face_detector` builds the detector (tests inject one); `build_now` builds it on the
    calling thread instead of a helper.
    """

    def __init__(
        self,
        settings: StudioSettings,
        *,
        build_now: bool = False,
        new_face_detector: Callable[[], FaceDetector] = BlazeFaceDetector,
    ) -> None:
        self._settings = settings
        self._main_person = MainPerson()
        self._vignette = Vignette()
        self._framing = AutoFraming()
        self._light = Light(settings.light)
        self._touch_up = TouchUp(settings.touch_up)
        self._denoise = Denoise(settings.denoise)
        self._build_now = build_now
        self._new_face_detector = new_face_detector
        self._detectors: NewestJob[str, FaceDetector] = NewestJob(
            "backdrop-faces", lambda _key: new_face_detector(), lambda detector: detector.close()
        )
        self._detector: FaceDetector | None = None
        self._faces: FaceTracker | None = None
        self._detector_failed = False
        self._face: Face | None = None  # this frame's, while light or touch-up is on
        self._framing_ms = 0.0  # moving the crop, before compositing
        self.messages: list[str] = []
        self.configure(settings)

    def configure(self, settings: StudioSettings) -> None:
        if settings.main_person != self._settings.main_person:
            self._main_person.reset()
        if settings.framing != self._settings.framing:
            self._framing.reset()
        self._settings = settings
        self._vignette.strength = settings.vignette
        self._framing.zoom_max = settings.framing_zoom_max
        self._light.strength = settings.light
        self._touch_up.strength = settings.touch_up
        self._denoise.strength = settings.denoise
        if settings.follows_the_face:
            self._want_detector()

    @property
    def framing_box(self) -> tuple[int, int, int, int] | None:
        """The framing crop (x, y, w, h) in the frame's pixels, or None with framing off."""
        return self._framing.box() if self._settings.framing == "auto" else None

    def reset(self) -> None:
        """A new source or model: tracked choices, the face and the crop from before are stale."""
        self._main_person.reset()
        self._framing.reset()
        self._light.reset()
        self._denoise.reset()
        if self._faces is not None:
            self._faces.reset()

    def close(self) -> None:
        self._detectors.close()
        if self._detector is not None:
            self._detector.close()
            self._detector = None
            self._faces = None

    # --- the face detector ------------------------------------------------------------------
    def _want_detector(self) -> None:
        if self._detector is not None or self._detector_failed:
            return
        if not self._build_now:
            if self._detectors.wanted is None:
                self._detectors.request("faces")
            return
        try:
            self._install_detector(self._new_face_detector())
        except ModelError as error:
            self._detector_failed_with(error)

    def _take_detector(self) -> None:
        built = self._detectors.poll()
        if built is None:
            return
        _key, detector = built
        if isinstance(detector, ModelError):
            self._detector_failed_with(detector)
        elif isinstance(detector, Exception):
            raise detector
        else:
            self._install_detector(detector)

    def _install_detector(self, detector: FaceDetector) -> None:
        self._detector = detector
        # A face found in its own square is found again there reliably: every 8th frame then
        # (3.75 a second at 30 fps), every 4th while searching. On the swaying and the tilting
        # demo the eased box's centre is then 2.2-2.4 px (mean) from where detecting on every
        # frame puts it, against 1.6-2.0 px at every 6th (a face 156 px wide).
        self._faces = FaceTracker(detector.detect, detect_every=4, tracked_every=8)

    def _detector_failed_with(self, error: ModelError) -> None:
        self._detector_failed = True
        self.messages.append(f"{error} Light and touch-up are off until Backdrop restarts.")

    # --- frames -------------------------------------------------------------------------------
    def on_alpha(self, alpha: np.ndarray, stats: PipelineStats) -> np.ndarray:
        if not self._settings.main_person:
            return alpha
        started_s = time.perf_counter()
        alpha = self._main_person.keep(alpha)
        stats.stage("main_person", ms_since(started_s))
        return alpha

    def plan(self, alpha: np.ndarray, camera_bgr: np.ndarray, timestamp_ms: int,
             stats: PipelineStats) -> tuple[slice, slice] | None:
        """Before compositing: find the face (for light, touch-up and framing's head room) and
        move auto-framing's crop. Returns the part of the composite that will be seen (the
        crop and what touch-up reads, on whole tiles), or None for all of it."""
        self._face = None
        self._framing_ms = 0.0
        if self._settings.follows_the_face:
            if self._faces is None:
                self._take_detector()
            if self._faces is not None:
                started_s = time.perf_counter()
                self._face = self._faces.update(camera_bgr, timestamp_ms)
                stats.stage("face", ms_since(started_s))
        if self._settings.framing != "auto":
            return None
        started_s = time.perf_counter()
        self._framing.update(alpha, self._face_xywh())
        region = self._seen_region(*alpha.shape)
        self._framing_ms = ms_since(started_s)
        return region

    def _seen_region(self, height_px: int, width_px: int) -> tuple[slice, slice] | None:
        side = tile_side_px(height_px, width_px)
        x, y, crop_w, crop_h = self._framing.box()
        if side is None or (crop_w, crop_h) == (width_px, height_px):
            return None
        x0, y0, x1, y1 = x, y, x + crop_w, y + crop_h
        if self._settings.touch_up > 0.0 and self._face is not None:
            fx0, fy0, fx1, fy1 = touch_up_region(self._face.box, width_px, height_px)
            x0, y0, x1, y1 = min(x0, fx0), min(y0, fy0), max(x1, fx1), max(y1, fy1)
        return on_tiles((slice(y0, y1), slice(x0, x1)), side)

    def on_person(self, output_bgr: np.ndarray, camera_bgr: np.ndarray, alpha: np.ndarray,
                  stats: PipelineStats) -> np.ndarray:
        """The output with the person denoised, their face (found by `plan`) lit and touched
        up (the output itself when none is on); `camera_bgr` is the same size."""
        frame_bgr = output_bgr
        if self._settings.denoise > 0.0:
            started_s = time.perf_counter()
            denoised = self._denoise.apply(frame_bgr, camera_bgr, alpha,
                                           out=_writable(frame_bgr, camera_bgr))
            stats.stage("denoise", ms_since(started_s))
            frame_bgr = denoised
        else:
            self._denoise.reset()
        if not self._settings.follows_the_face or self._faces is None:
            return frame_bgr
        face = self._face
        if self._settings.light > 0.0:
            started_s = time.perf_counter()
            frame_bgr = self._light.apply(frame_bgr, alpha, face.box if face else None,
                                          camera_bgr, out=_writable(frame_bgr, camera_bgr))
            stats.stage("light", ms_since(started_s))
        if self._settings.touch_up > 0.0 and face is not None:
            started_s = time.perf_counter()
            frame_bgr = self._touch_up.apply(frame_bgr, alpha, face.box, face.eyes,
                                             face.keypoints[3],
                                             out=_writable(frame_bgr, camera_bgr))
            stats.stage("touch_up", ms_since(started_s))
        return frame_bgr

    def on_output(self, output_bgr: np.ndarray, stats: PipelineStats,
                  size: tuple[int, int] | None = None) -> np.ndarray:
        """The crop `plan` placed, scaled to `size` (width, height; default the frame's own:
        the engine asks for a meeting's smaller picture), then the vignette."""
        if self._settings.framing == "auto":
            started_s = time.perf_counter()
            output_bgr = self._framing.apply(output_bgr, size)
            stats.stage("framing", self._framing_ms + ms_since(started_s))
        if self._settings.vignette > 0.0:
            started_s = time.perf_counter()
            output_bgr = self._vignette.apply(output_bgr)
            stats.stage("vignette", ms_since(started_s))
        return output_bgr

    def _face_xywh(self) -> tuple[int, int, int, int] | None:
        """The face light or touch-up found in this frame, for framing's head room."""
        if self._face is None:
            return None
        x0, y0, x1, y1 = self._face.box
        return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def _writable(frame_bgr: np.ndarray, camera_bgr: np.ndarray) -> np.ndarray | None:
    """`frame_bgr` when an effect may write into it: the compositor's output and each effect's
    are new arrays, this frame's own, but with no effect the output is the camera's frame."""
    return frame_bgr if frame_bgr is not camera_bgr else None
