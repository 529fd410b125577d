"""The per-frame stages between a source frame and an output frame.

`FrameStages.process` takes one captured frame and yields the output frames that are ready:
with the live segmenter, a frame is composited once MediaPipe returns its own mask; frames
MediaPipe dropped, or that a newer result overtook, are dropped and counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import cv2
import numpy as np

from app.devices.frames import Frame
from app.devices.links import blurred_still
from app.devices.sinks import crop_even
from app.engine.backgrounds import BackgroundLoader, EffectSwitch
from app.engine.degrade import Degradation, LoadGovernor
from app.engine.schedules import Finished, Prepared, RunMode, Segmenter, make_schedule
from app.engine.segmenters import new_segmenter
from app.engine.stats import PipelineStats, ms_since
from app.engine.studio import StudioStage
from app.jobs import NewestJob
from app.settings import Settings
from compositing.backgrounds import BackgroundError
from compositing.compositor import Compositor
from compositing.downscale import halvings, shrink_to
from compositing.files import load_background
from compositing.fit import fitted_size
from segmentation.chain import AlphaChain
from segmentation.models import LANDSCAPE, ModelError, ModelSpec, resolve_model
from segmentation.segmenter import model_input
from segmentation.stillness import StillnessGate

# Milliseconds a frame took -> the load the governor sees.
BusyMeter = Callable[[float], float]
# Builds a segmenter for a model (the MediaPipe graph: 100 ms and more).
SegmenterFactory = Callable[[ModelSpec], Segmenter]
_ModelKey = tuple[ModelSpec, str]  # (model, the user's choice it came from)


class FrameStages:
    """Segment, smooth, refine and composite, with state that follows the settings.

    How frames reach the segmenter is the run mode's schedule (`app.engine.schedules`); this
    object owns the segmenter, the alpha chain, the compositor and the load governor, and the
    two helper threads that load a new background and build a new model while frames go on
    with the old ones (`load_background` and `new_segmenter` replace how, for tests).
    `output_fps` is the rate of an unpaced run's output (default: the settings' source rate).
    """

    def __init__(
        self,
        settings: Settings,
        width_px: int,
        height_px: int,
        mode: RunMode = RunMode.LIVE,
        *,
        source_fps: float = 30.0,
        busy_ms: BusyMeter | None = None,
        load_background: BackgroundLoader = load_background,
        new_segmenter: SegmenterFactory | None = None,
        output_size: tuple[int, int] | None = None,
    ) -> None:
        """`output_size` (width, height) is the picture the sink gets (see `follow_output`);
        `source_fps` is the rate frames really arrive at (the governor's budget, and the
        timeline a video background follows in unpaced runs); `busy_ms` turns a frame's
        measured milliseconds into the load the governor sees (tests inject a fixed cost, so
        degradation means the same on any machine); `load_background` and `new_segmenter`
        build off the frame thread (tests hold them)."""
        self._mode = mode
        self._frame_budget_ms = 1000.0 / max(source_fps, 1.0)
        self._busy_ms: BusyMeter = busy_ms or (lambda measured_ms: measured_ms)
        self._output_fps = float(source_fps)  # unpaced runs' timeline
        self._frames_composited = 0
        self._build_segmenter = new_segmenter or self._new_segmenter
        self._models: NewestJob[_ModelKey, Segmenter] = NewestJob(
            "backdrop-model", lambda key: self._build_segmenter(key[0]),
            lambda segmenter: segmenter.close(),
        )
        # Live frames come one at a time: waking OpenCV's worker threads for every small
        # operation costs more CPU than it saves (720p30: 36-40% of a core single-threaded,
        # 48-52% with OpenCV's threads). Unpaced runs keep them (-1 restores the default).
        cv2.setNumThreads(-1 if mode is RunMode.THROUGHPUT else 1)
        self._settings = settings
        self._segmenter: Segmenter | None = None
        self._model_choice = ""  # the choice followed (its model may still be building)
        self._segmenter_choice = ""  # the choice the running segmenter came from
        self._frame_size: tuple[int, int] = (0, 0)
        self._last_timestamp_ms = -1
        self._chain = AlphaChain(settings.mask.smoothing, settings.mask.refinement)
        self._compositor = Compositor()
        self._effects = EffectSwitch(self._compositor, load_background)
        self._studio = StudioStage(settings.studio, build_now=mode is not RunMode.LIVE)
        self.messages: list[str] = []
        self._pause_cache: tuple[tuple[int, ...], np.ndarray] | None = None
        self._schedule = make_schedule(mode, self._finish, self._may_carry)
        # Live, paced frames only: unpaced runs (bench, files) want every frame at full quality.
        self._governor = LoadGovernor() if mode is RunMode.LIVE else None
        self._degradation = Degradation()
        self._last_smoothed: np.ndarray | None = None
        # Live frames that show nothing new reuse the kept alpha of the last segmented frame.
        self._stillness = StillnessGate() if mode is RunMode.LIVE else None
        self._kept_alpha: np.ndarray | None = None
        self._passing_through = False  # effect 'none': frames skip every stage
        self._output_size = output_size
        self.configure(settings, strict=True)
        self._frame_size = self._entry_size(width_px, height_px) or (width_px, height_px)
        self.messages.extend(self._switch_model(settings.mask.model, *self._frame_size))

    # --- settings -------------------------------------------------------------------------
    def configure(self, settings: Settings, *, strict: bool = False) -> list[str]:
        """Apply settings; return messages for what could not be applied (raise if strict).

        A new background file or model is loaded on a helper while frames go on with the
        current one (`strict`, at start-up, loads the background here: nothing runs yet).
        """
        messages: list[str] = []
        self._schedule.drain()
        self._settings = settings
        try:
            self._effects.configure(settings.effect, settings.mask.edge_softness, now=strict)
        except BackgroundError as error:
            if strict:
                raise
            messages.append(f"{error} The previous background stays.")
        self._chain.configure(settings.mask.smoothing, self._refinement())
        self._kept_alpha = None  # made with the old mask settings
        self._studio.configure(settings.studio)
        if settings.mask.model != self._model_choice and self._frame_size != (0, 0):
            messages.extend(self._switch_model(settings.mask.model, *self._frame_size))
        return messages

    def _take_loaded(self) -> None:
        """Swap in a background or a model a helper finished (never waits for one)."""
        self.messages.extend(self._effects.take_loaded(self._schedule.drain))
        built = self._models.poll()
        if built is not None:
            (_spec, choice), segmenter = built
            if isinstance(segmenter, ModelError):
                self._model_choice = self._segmenter_choice
                self.messages.append(f"{segmenter} Keeping the current model.")
            elif isinstance(segmenter, Exception):
                raise segmenter
            else:
                self._install(segmenter, choice)

    def _refinement(self) -> str:
        cap = self._degradation.refinement_cap
        wanted = self._settings.mask.refinement
        return cap if cap is not None and wanted == "best" else wanted

    def _switch_model(self, choice: str, width_px: int, height_px: int) -> list[str]:
        """Follow the model `choice`: built on a helper while the current model segments on,
        or here at start-up, when there is nothing to keep running."""
        try:
            spec = resolve_model(choice, width_px, height_px)
        except ModelError as error:
            if self._segmenter is not None:
                return [f"{error} Keeping the current model."]
            return self._start_fallback(error, choice, width_px, height_px)
        if self._degradation.force_landscape and choice in ("auto", "general"):
            spec = LANDSCAPE
        self._model_choice = choice
        if self._segmenter is None:
            try:
                self._install(self._build_segmenter(spec), choice)
            except ModelError as error:
                return self._start_fallback(error, choice, width_px, height_px)
        elif spec == self._segmenter.spec:
            self._models.cancel()
            self._segmenter_choice = choice
        else:
            self._models.request((spec, choice))
        return []

    def _start_fallback(
        self, error: ModelError, choice: str, width_px: int, height_px: int
    ) -> list[str]:
        fallback = resolve_model("auto", width_px, height_px)
        self._install(self._build_segmenter(fallback), choice)
        return [f"{error} Using the bundled model instead."]

    def _new_segmenter(self, spec: ModelSpec) -> Segmenter:
        return new_segmenter(spec, self._mode)

    def _install(self, segmenter: Segmenter, choice: str) -> None:
        self._schedule.drain()
        if self._segmenter is not None:
            self._segmenter.close()
        self._segmenter = segmenter
        self._model_choice = self._segmenter_choice = choice
        self._forget()

    def reset(self) -> None:
        """Forget temporal state: a new source starts from a clean slate."""
        self._schedule.drain()
        self._forget()

    def _forget(self) -> None:
        self._schedule.forget()
        self._chain.reset()
        self._studio.reset()
        self._last_smoothed = None
        self._kept_alpha = None
        if self._stillness is not None:  # a reference from another source or size means nothing
            self._stillness.reset()

    def follow_output(self, size: tuple[int, int] | None) -> None:
        """The size (width, height) of the picture the sink gets, or None for the frame's own.

        A camera frame larger than that is reduced to it on entry, since the sink would reduce
        it anyway: at 1080p into a meeting's 1280x720 every stage then works on 2.25x fewer
        pixels. With auto-framing on, the frame stays whole (the crop is taken from the full
        picture, so a zoom is sharper) and the crop is scaled straight to that size."""
        self._output_size = size

    def _sent_size(self, width_px: int, height_px: int) -> tuple[int, int] | None:
        """The size the sink would scale a width_px x height_px frame to, when that is smaller."""
        if self._output_size is None:
            return None
        size = fitted_size(width_px, height_px, *self._output_size, self._settings.output.fit)
        return size if size[0] < width_px else None

    def _entry_size(self, width_px: int, height_px: int) -> tuple[int, int] | None:
        """What a camera frame is reduced to on entry (None: it stays as it is)."""
        if self._settings.studio.framing == "auto":
            return None
        return self._sent_size(width_px, height_px)

    def set_source_fps(self, fps: float) -> None:
        """The rate a new source delivers at: the governor's frame budget follows it."""
        self._frame_budget_ms = 1000.0 / max(fps, 1.0)
        self._output_fps = float(max(fps, 1.0))

    @property
    def degradation(self) -> Degradation:
        return self._degradation

    @property
    def framing_box(self) -> tuple[int, int, int, int] | None:
        """Auto-framing's crop (x, y, w, h) of the last frame, or None with framing off."""
        return self._studio.framing_box

    @property
    def model(self) -> ModelSpec | None:
        return self._segmenter.spec if self._segmenter is not None else None

    # --- frames ---------------------------------------------------------------------------
    def process(self, frame: Frame, stats: PipelineStats) -> Iterator[Finished]:
        """Feed one frame; yield each frame now complete."""
        if self._settings.effect.kind == "none":
            # No effect: nothing to segment, smooth, refine or composite.
            self._passing_through = True
            yield Finished.unchanged(self._entering(frame)[0], frame.captured_s)
            return
        if self._passing_through:  # an effect again: the masks from before are stale
            self._passing_through = False
            self._forget()
        started_s = time.perf_counter()
        self._take_loaded()
        prepared = self._prepare(frame)
        stats.stage("prepare", ms_since(started_s))
        assert self._segmenter is not None
        yield from self._schedule.feed(self._segmenter, prepared, stats)
        if not prepared.still:  # a reused alpha says nothing about what a moving frame costs
            self._observe_load(started_s)

    def _prepare(self, frame: Frame) -> Prepared:
        """Mirror, make the work frame and the model's input, and give it a fresh timestamp."""
        frame_bgr, camera_bgr = self._entering(frame)
        self._ensure_segmenter(frame_bgr)
        assert self._segmenter is not None
        # The camera's frame halved towards the model's input, once: the work frame at 1080p
        # is the first level, and the blur starts from the smallest.
        halves = tuple(halvings(camera_bgr, self._segmenter.spec.input_size))
        work_bgr = self._chain.work_frame(camera_bgr, halves)
        if camera_bgr is not frame_bgr:
            # Reduced on entry: refinement still works on the camera's own half size where
            # that is what it takes (1080p's 960x540 guide places her edge better in a 720p
            # picture than 720p's 640x360 one: see tests/test_meeting_size.py), never above
            # the picture's size; the blur's levels are the picture's, made by the compositor.
            work_bgr = frame_bgr if work_bgr is camera_bgr else work_bgr
        small_bgr = model_input(camera_bgr, self._segmenter.spec.input_size, halves)
        timestamp_ms = max(int(frame.captured_s * 1000.0), self._last_timestamp_ms + 1)
        self._last_timestamp_ms = timestamp_ms
        small_gray = cv2.cvtColor(small_bgr, cv2.COLOR_BGR2GRAY)
        still = (self._kept_alpha is not None and self._stillness is not None
                 and self._stillness.still(small_gray))
        return Prepared(
            frame_bgr, work_bgr, frame.captured_s, cv2.cvtColor(small_bgr, cv2.COLOR_BGR2RGB),
            small_gray, timestamp_ms, still, halves if camera_bgr is frame_bgr else (),
        )

    def _entering(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """The picture to work on and the camera's frame it came from, both even-sized and
        mirrored if the output is: the same array, unless the camera's is larger than the
        meeting's picture (`follow_output`) and was reduced to it.

        No copy at the camera's size: a Frame's picture is its own (never reused by the
        source), and no stage writes into it; a copy cost a frame of memory per frame in flight
        (three unpaced) and a 6 MB memcpy per 1080p frame."""
        camera_bgr = crop_even(frame.image_bgr)
        if self._settings.output.mirror_output:
            camera_bgr = cv2.flip(camera_bgr, 1)
        size = self._entry_size(camera_bgr.shape[1], camera_bgr.shape[0])
        if size is None:
            return camera_bgr, camera_bgr
        return shrink_to(camera_bgr, size), camera_bgr  # bilinear at 1.5x: see compositing.fit

    def _may_carry(self) -> bool:
        """Whether a live frame may reuse the last mask (the governor's last step)."""
        return self._degradation.every_other_frame and self._last_smoothed is not None

    def _observe_load(self, started_s: float) -> None:
        """Feed the governor this frame's time; degrade or recover a step when it says so."""
        if self._governor is None:
            return
        change = self._governor.observe(
            self._busy_ms(ms_since(started_s)), self._frame_budget_ms, self._step_applies
        )
        if change is None:
            return
        before = self._degradation
        self._degradation = change
        self._chain.configure(self._settings.mask.smoothing, self._refinement())
        self._kept_alpha = None
        if change.force_landscape != before.force_landscape:
            self.messages.extend(self._switch_model(self._model_choice, *self._frame_size))
        self.messages.append(change.message or "Backdrop keeps up again: full quality is back.")

    def _step_applies(self, level: int) -> bool:
        """Whether degradation `level` would change anything with the current settings."""
        if level == 1:
            return self._settings.mask.refinement == "best"
        if level == 2:
            return self._settings.mask.model in ("auto", "general") and (
                self.model is not None and self.model != LANDSCAPE
            )
        return True

    def _finish(
        self, pending: Prepared, confidence: np.ndarray | None, stats: PipelineStats
    ) -> np.ndarray:
        """Smooth, refine and composite one frame; no confidence carries the last mask on,
        and a still frame reuses the kept alpha."""
        kept = self._kept_alpha
        if pending.still and kept is not None and kept.shape == pending.frame_bgr.shape[:2]:
            alpha = kept.copy()  # the studio stages may change theirs in place
        else:
            alpha = self._fresh_alpha(pending, confidence, stats)
        alpha = self._studio.on_alpha(alpha, stats)
        seen = self._studio.plan(alpha, pending.frame_bgr, pending.timestamp_ms, stats)
        started_s = time.perf_counter()
        output_bgr = self._compositor.apply(pending.frame_bgr, alpha, self._output_time_s(pending),
                                            seen, frame_halves=pending.halves)
        for source in (self._compositor.messages, self._studio.messages):
            while source:  # a background that broke or recovered, a face model that failed
                self.messages.append(source.pop(0))
        stats.stage("composite", ms_since(started_s))
        output_bgr = self._studio.on_person(output_bgr, pending.frame_bgr, alpha, stats)
        height_px, width_px = pending.frame_bgr.shape[:2]
        return self._studio.on_output(output_bgr, stats, self._sent_size(width_px, height_px))

    def _fresh_alpha(
        self, pending: Prepared, confidence: np.ndarray | None, stats: PipelineStats
    ) -> np.ndarray:
        """The alpha from this frame's mask (or, carried, the last one), smoothed and refined."""
        started_s = time.perf_counter()
        if confidence is None and self._last_smoothed is not None:
            smoothed = self._last_smoothed
        else:
            assert confidence is not None
            smoothed = self._chain.smooth(confidence, pending.small_gray)
            self._last_smoothed = smoothed
        stats.stage("smooth", ms_since(started_s))
        started_s = time.perf_counter()
        alpha = self._chain.alpha(
            smoothed, pending.frame_bgr, self._settings.mask.edge_softness, pending.work_bgr,
            carried=confidence is None,
        )
        stats.stage("refine", ms_since(started_s))
        if confidence is not None and self._stillness is not None:
            self._stillness.segmented(pending.small_gray)
            if self._kept_alpha is None or self._kept_alpha.shape != alpha.shape:
                self._kept_alpha = alpha.copy()
            else:
                np.copyto(self._kept_alpha, alpha)
        return alpha

    def _output_time_s(self, pending: Prepared) -> float:
        """The time a video background plays by: a live frame's capture time; for unpaced
        runs (files, benchmarks) the output's own timeline, one frame per 1/fps."""
        if self._mode is RunMode.LIVE:
            return pending.captured_s
        self._frames_composited += 1
        return (self._frames_composited - 1) / self._output_fps

    def _ensure_segmenter(self, frame_bgr: np.ndarray) -> None:
        height_px, width_px = frame_bgr.shape[:2]
        if self._segmenter is not None and (width_px, height_px) == self._frame_size:
            return
        self._frame_size = (width_px, height_px)
        choice = self._settings.mask.model
        if self._segmenter is None or choice == "auto":
            self.messages.extend(self._switch_model(choice, width_px, height_px))
        self.reset()

    def pause_frame(self, output_bgr: np.ndarray) -> np.ndarray:
        """The still frame sent while paused: the first paused frame, blurred, captioned."""
        if self._pause_cache is None or self._pause_cache[0] != output_bgr.shape:
            self._pause_cache = (output_bgr.shape, blurred_still(output_bgr))
        return self._pause_cache[1]

    def resume(self) -> None:
        self._pause_cache = None

    def close(self) -> None:
        """Join the helpers (what they were building is discarded), then release the rest."""
        self._effects.close()
        self._models.close()
        self._schedule.close()
        self._compositor.close()
        self._studio.close()
        if self._segmenter is not None:
            self._segmenter.close()
            self._segmenter = None

