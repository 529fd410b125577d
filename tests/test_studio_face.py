"""Light and touch-up in the engine (issue 15): what the meeting sees, at the default 1280x720.

Each effect is compared with the same run without it: the same frames and the same model give
the same alpha, so any difference in the output is the effect's.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from app.devices.demo import DemoRenderer, demo_person_regions
from app.devices.frames import Frame
from app.engine.schedules import RunMode
from app.engine.stages import FrameStages
from app.engine.stats import PipelineStats
from app.engine.studio import StudioStage
from app.settings import Settings, StudioSettings
from segmentation.faces import Face
from segmentation.models import ModelError
from tests.test_cli import _frames, backdrop

WIDTH_PX, HEIGHT_PX = 1280, 720
FACE = demo_person_regions(WIDTH_PX, HEIGHT_PX).face
FACE_SLICE = (slice(FACE.y0, FACE.y1), slice(FACE.x0, FACE.x1))


def _luma(frame_bgr: np.ndarray) -> np.ndarray:
    return frame_bgr.astype(np.float32) @ np.array([0.114, 0.587, 0.299], np.float32)


def _high_frequency(frame_bgr: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return (gray - cv2.GaussianBlur(gray, (0, 0), 1.5)) ** 2


def _outputs(studio: StudioSettings, darken: int = 1, frames: int = 45) -> list[np.ndarray]:
    """The last output of the engine on the static demo (darkened `darken` times), with the
    default settings but for `studio` and an image-like plain background."""
    base = Settings()
    settings = dataclasses.replace(base, studio=studio)
    renderer = DemoRenderer(WIDTH_PX, HEIGHT_PX, static=True)
    stages = FrameStages(settings, WIDTH_PX, HEIGHT_PX, RunMode.EVERY_FRAME)
    outputs = []
    try:
        for index in range(frames):
            image = (renderer.render(index / 30) // darken).astype(np.uint8)
            for finished in stages.process(Frame(image, index / 30, index), PipelineStats()):
                outputs.append(finished.output_bgr)
    finally:
        stages.close()
    return outputs


def test_light_lifts_a_dim_face_half_way_back_and_leaves_the_room_as_it_was() -> None:
    bright = _outputs(StudioSettings(), frames=3)[-1]
    unlit = _outputs(StudioSettings(), darken=3)[-1]
    lit = _outputs(StudioSettings(light=0.75), darken=3)[-1]
    bright_face, dim_face = _luma(bright)[FACE_SLICE].mean(), _luma(unlit)[FACE_SLICE].mean()
    assert _luma(lit)[FACE_SLICE].mean() - dim_face >= 0.5 * (bright_face - dim_face)
    truth = DemoRenderer(WIDTH_PX, HEIGHT_PX, static=True).truth(0.0).alpha_u8
    room = cv2.dilate(truth, np.ones((61, 61), np.uint8)) == 0
    assert np.abs(lit[room].astype(int) - unlit[room]).max() <= 1  # the blurred room
    assert ((lit == 255) & (unlit < 255)).sum() == 0  # nothing new clips


def test_touch_up_halves_the_skin_texture_and_leaves_the_room_alone() -> None:
    plain = _outputs(StudioSettings(), frames=12)[-1]
    touched = _outputs(StudioSettings(touch_up=0.7), frames=12)[-1]
    width_px = FACE.x1 - FACE.x0
    cheeks = (slice(FACE.y0 + int(0.55 * (FACE.y1 - FACE.y0)), FACE.y1 - 10),
              slice(FACE.x0 + width_px // 5, FACE.x0 + 2 * width_px // 5))
    before, after = _high_frequency(plain), _high_frequency(touched)
    assert after[cheeks].mean() <= 0.5 * before[cheeks].mean()
    truth = DemoRenderer(WIDTH_PX, HEIGHT_PX, static=True).truth(0.0).alpha_u8
    room = cv2.dilate(truth, np.ones((61, 61), np.uint8)) == 0
    assert np.array_equal(touched[room], plain[room])


# The fakes' face: a patch a few levels brighter than the dim person around it.
FACE_MARK = 44


class _FakeDetector:
    """Finds the face where the picture shows it, as BlazeFace would: the box of the input's
    pixels brighter than `above`, in the normalised coordinates of the input it is given (the
    tracker shows it squares of the frame); counts its calls."""

    def __init__(self, above: int = FACE_MARK - 2) -> None:
        self.above, self.calls, self.closed = above, 0, False

    def detect(self, input_rgb: np.ndarray, timestamp_ms: int) -> list[Face]:
        self.calls += 1
        ys, xs = np.nonzero(input_rgb[..., 0] > self.above)
        if xs.size == 0:
            return []
        size = input_rgb.shape[1]
        x0, y0 = xs.min() / size, ys.min() / size
        x1, y1 = (xs.max() + 1) / size, (ys.max() + 1) / size
        keypoints = np.array([[x0 + 0.3 * (x1 - x0), y0 + 0.4 * (y1 - y0)],
                              [x0 + 0.7 * (x1 - x0), y0 + 0.4 * (y1 - y0)],
                              [(x0 + x1) / 2, y0 + 0.6 * (y1 - y0)],
                              [(x0 + x1) / 2, y0 + 0.8 * (y1 - y0)],
                              [x0, y0 + 0.5 * (y1 - y0)], [x1, y0 + 0.5 * (y1 - y0)]],
                             np.float32)
        return [Face((x0, y0, x1, y1), keypoints, 0.9)]

    def close(self) -> None:
        self.closed = True


def _dim_person() -> tuple[np.ndarray, np.ndarray]:
    """A dim person (40 levels) whose face (FACE_MARK) the fake detector finds."""
    frame = np.full((360, 640, 3), 40, np.uint8)
    frame[90:210, 270:370] = FACE_MARK
    alpha = np.zeros((360, 640), np.uint8)
    cv2.rectangle(alpha, (200, 60), (440, 360), 255, -1)
    return frame, alpha


def test_live_frames_never_wait_for_the_face_detector_to_build() -> None:
    release, built = threading.Event(), threading.Event()
    detector = _FakeDetector()

    def slow_build() -> _FakeDetector:
        release.wait()
        built.set()
        return detector

    stage = StudioStage(StudioSettings(light=1.0), new_face_detector=slow_build)
    stats = PipelineStats()
    frame, alpha = _dim_person()
    try:
        for index in range(5):  # the detector is still building: frames pass through at once
            assert _studio_frame(stage, frame, alpha, index * 33, stats) is frame
        release.set()
        built.wait()
        lifted = _until(lambda index: _studio_frame(stage, frame, alpha, index * 33, stats),
                        lambda out: out[150, 320, 0] > FACE_MARK + 6)
        # the person, not the room
        assert lifted[150, 320, 0] > FACE_MARK + 6 and lifted[10, 10, 0] == 40
        assert detector.calls > 0 and {"face", "light"} <= set(stats.snapshot().stage_ms_p50)
    finally:
        stage.close()
    assert detector.closed


def _studio_frame(stage: StudioStage, frame: np.ndarray, alpha: np.ndarray,
                  timestamp_ms: int, stats: PipelineStats) -> np.ndarray:
    """One frame through the stage's face and person effects, as the engine runs them."""
    stage.plan(alpha, frame, timestamp_ms, stats)
    return stage.on_person(frame, frame, alpha, stats)


def _until(step: Callable[[int], np.ndarray], done: Callable[[np.ndarray], bool]) -> np.ndarray:
    """Frames until `done` holds: the helper thread hands the detector over when it finished,
    which the frame loop sees at its next frame. Bounded by a frame count, not a clock."""
    out = step(0)
    for index in range(1, 100_000):
        if done(out):
            break
        out = step(index)
        threading.Event().wait(0.001)  # let the helper thread run on a 2-core machine
    return out


def test_a_missing_face_model_says_so_once_and_the_picture_goes_on() -> None:
    def no_model() -> _FakeDetector:
        raise ModelError("MediaPipe cannot use 'face.tflite' as a face detector: gone.")

    stage, stats = StudioStage(StudioSettings(touch_up=0.5), build_now=True,
                               new_face_detector=no_model), PipelineStats()
    frame, alpha = _dim_person()
    assert _studio_frame(stage, frame, alpha, 0, stats) is frame
    stage.configure(StudioSettings(touch_up=0.8, light=0.5))
    assert _studio_frame(stage, frame, alpha, 33, stats) is frame
    assert stage.messages == ["MediaPipe cannot use 'face.tflite' as a face detector: gone. "
                              "Light and touch-up are off until Backdrop restarts."]
    stage.close()


def test_turning_both_off_stops_detecting() -> None:
    detector = _FakeDetector()
    stage, stats = StudioStage(StudioSettings(light=1.0), build_now=True,
                               new_face_detector=lambda: detector), PipelineStats()
    frame, alpha = _dim_person()
    for index in range(8):
        _studio_frame(stage, frame, alpha, index * 33, stats)
    calls = detector.calls
    stage.configure(StudioSettings())
    for index in range(8, 16):
        assert _studio_frame(stage, frame, alpha, index * 33, stats) is frame
    assert detector.calls == calls
    stage.close()


def test_run_applies_the_light_and_touch_up_flags(tmp_path: Path) -> None:
    """From a recorded clip (every frame, in order), so the face detector is ready for the
    first frame: live, it builds on a helper for most of a second, and a short run's last frame
    would depend on how fast this machine built it."""
    clip = backdrop(tmp_path, "run", "--source", "demo", "--output", "clip.mp4", "--frames",
                    "8", "--size", "1280x720", "--effect", "none")
    assert clip.returncode == 0, clip.stderr
    args = ("run", "--source", str(tmp_path / "clip.mp4"), "--output", "out.mp4",
            "--effect", "blur")
    for name in ("plain", "touched", "bad"):
        (tmp_path / name).mkdir()
    plain = backdrop(tmp_path / "plain", *args)
    touched = backdrop(tmp_path / "touched", *args, "--touch-up", "1", "--light", "0.5")
    assert plain.returncode == 0, plain.stderr
    assert touched.returncode == 0, touched.stderr
    before = _high_frequency(_frames(tmp_path / "plain" / "out.mp4")[-1])[FACE_SLICE]
    after = _high_frequency(_frames(tmp_path / "touched" / "out.mp4")[-1])[FACE_SLICE]
    assert after.mean() < 0.8 * before.mean()
    bad = backdrop(tmp_path / "bad", *args, "--touch-up", "1.5")
    assert bad.returncode != 0 and "studio.touch_up" in bad.stderr


def test_framing_centres_on_the_face_light_or_touch_up_found() -> None:
    """A raised arm makes the alpha's top the hand, left of the head: with a face found, the
    crop centres on the face instead."""
    alpha = np.zeros((360, 640), np.uint8)
    cv2.rectangle(alpha, (300, 120), (420, 360), 255, -1)  # head and body
    cv2.rectangle(alpha, (150, 40), (190, 200), 255, -1)  # a raised arm, higher than the head
    frame = np.full((360, 640, 3), 120, np.uint8)
    face_box = (320.0, 130.0, 400.0, 220.0)
    frame[130:220, 320:400] = 200  # what the fake detector finds
    centres = {}
    for name, studio in (("alpha", StudioSettings(framing="auto")),
                         ("face", StudioSettings(framing="auto", touch_up=0.5))):
        stage = StudioStage(studio, build_now=True,
                            new_face_detector=lambda: _FakeDetector(above=160))
        stats = PipelineStats()
        for index in range(120):
            out = _studio_frame(stage, frame, alpha, index * 33, stats)
            stage.on_output(out, stats)
        x, _y, w, _h = stage.framing_box or (0, 0, 0, 0)
        centres[name] = x + w / 2
        stage.close()
    face_centre = (face_box[0] + face_box[2]) / 2
    assert abs(centres["face"] - face_centre) < 0.05 * 640
    assert abs(centres["alpha"] - face_centre) > abs(centres["face"] - face_centre)
