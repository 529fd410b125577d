"""The built-in demo source: a person in a room, like a webcam, for machines without one.

The person is the public-domain NASA portrait of Eileen Collins (scikit-image's
`astronaut`), cut out with a precomputed matte (packaging/make_demo_mask.py) and
placed over a procedurally drawn room. She sways and breathes gently and every frame
carries sensor noise, so each pipeline stage has real work to do. A frame costs a
few milliseconds (one warpAffine of the cut-out, a blend in her region, a noise add).
Motion "tilt" also tilts her head against her shoulders (non-rigid; see demo_motion.py).
The renderer knows the truth of every frame (`DemoRenderer.truth`), for `backdrop quality`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.clock import Clock, FramePacer, SystemClock
from app.devices.demo_bystander import draw_bystander
from app.devices.demo_motion import (
    DEMO_MOTIONS,
    TILT_RAD,
    HeadTilt,
    Pose,
    base_transform,
    extreme_motions,
    map_corners,
    motion_transform,
    pose_at,
    rest_map,
)
from app.devices.demo_room import draw_room, shade
from app.devices.frames import Frame, SourceError
from app.jobs import JobThread

DEMO_DIR = Path(__file__).resolve().parents[2] / "assets" / "demo"
PHOTO_PATH = DEMO_DIR / "astronaut.png"
MASK_PATH = DEMO_DIR / "astronaut_mask.png"

# Regions that are person in every frame (photo pixels, x0, y0, x1, y1; checked in tests).
_FACE_BOX = (195.0, 95.0, 255.0, 150.0)
_TORSO_BOX = (50.0, 310.0, 260.0, 440.0)

_SHADOW_DROP = 0.03
_SHADOW_SOFTNESS = 0.04
_SHADOW_DEPTH = 0.2
_NOISE_SIGMA = 3.0
_NOISE_OFFSET = 8
# Scene values stay at or below this, so adding noise never clips at white.
_HIGHLIGHT_MAX = 255 - 2 * _NOISE_OFFSET
_NOISE_PAD_PX = 64
_MIN_SIZE_PX = 32


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in frame pixels; x1 and y1 are exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int


@dataclass(frozen=True)
class PersonRegions:
    """Where the demo person's face and torso are, in every frame (motion included)."""

    face: Box
    torso: Box


def _check_motion(motion: str) -> None:
    if motion not in DEMO_MOTIONS:
        raise SourceError(f"The demo has no motion '{motion}': use {' or '.join(DEMO_MOTIONS)}.")


@dataclass(frozen=True)
class DemoTruth:
    """What the demo drew in one frame before its sensor noise: the ground truth.

    `alpha_u8` is (H, W) with 255 = person; `person_bgr` is her colours premultiplied by that
    alpha (0 where she is not); `clean_bgr` is the whole frame without noise, so the noise a
    frame carries is `frame - clean_bgr`.
    """

    alpha_u8: np.ndarray
    person_bgr: np.ndarray
    clean_bgr: np.ndarray


def _inner_box(photo_box: tuple[float, float, float, float], width_px: int, height_px: int) -> Box:
    """The part of a photo box that stays inside it in every pose, in frame pixels."""
    base = base_transform(width_px, height_px)
    rest = map_corners(base, photo_box)
    margin_px = max(
        float(np.abs(map_corners(motion @ base, photo_box) - rest).max())
        for motion in extreme_motions(width_px, height_px)
    )
    x0, y0 = rest.min(axis=0) + margin_px
    x1, y1 = rest.max(axis=0) - margin_px
    return Box(
        max(0, math.ceil(x0)), max(0, math.ceil(y0)),
        min(width_px, math.floor(x1)), min(height_px, math.floor(y1)),
    )


def demo_person_regions(width_px: int, height_px: int) -> PersonRegions:
    """Face and torso boxes of the demo person at this frame size, valid for every frame."""
    return PersonRegions(
        face=_inner_box(_FACE_BOX, width_px, height_px),
        torso=_inner_box(_TORSO_BOX, width_px, height_px),
    )


def _load_cutout() -> np.ndarray:
    """The portrait as BGRA: colour premultiplied by alpha, A = 255 - alpha (background weight)."""
    photo_bgr = cv2.imread(str(PHOTO_PATH), cv2.IMREAD_COLOR)
    alpha = cv2.imread(str(MASK_PATH), cv2.IMREAD_GRAYSCALE)
    if photo_bgr is None or alpha is None or alpha.shape != photo_bgr.shape[:2]:
        raise SourceError(
            f"The demo pictures {PHOTO_PATH.name} and {MASK_PATH.name} in {DEMO_DIR} are "
            "missing, unreadable or do not match; reinstall Backdrop, or use a camera."
        )
    alpha3 = cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR)
    photo_bgr = np.minimum(photo_bgr, _HIGHLIGHT_MAX)
    premultiplied = cv2.multiply(photo_bgr, alpha3, scale=1.0 / 255.0)
    return cv2.merge([premultiplied, cv2.bitwise_not(alpha)])


def _photo_box(cutouts_bgra: list[np.ndarray]) -> tuple[float, float, float, float]:
    """The photo-pixel box holding the person in every one of `cutouts_bgra`."""
    covered = np.logical_or.reduce([cutout[..., 3] < 255 for cutout in cutouts_bgra])
    ys, xs = np.nonzero(covered)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def _person_roi(
    photo_box: tuple[float, float, float, float], width_px: int, height_px: int
) -> Box:
    """The frame region the person can cover in any pose."""
    base = base_transform(width_px, height_px)
    corners = np.vstack(
        [map_corners(motion @ base, photo_box) for motion in extreme_motions(width_px, height_px)]
    )
    x0, y0 = np.floor(corners.min(axis=0)) - 2
    x1, y1 = np.ceil(corners.max(axis=0)) + 2
    return Box(max(0, int(x0)), max(0, int(y0)), min(width_px, int(x1)), min(height_px, int(y1)))


def _noise_field(width_px: int, height_px: int, seed: int) -> np.ndarray:
    """Half of the sensor noise: uint8 values around _NOISE_OFFSET, a margin larger than a
    frame. Adding one random window of it and subtracting another gives zero-mean gaussian
    noise of _NOISE_SIGMA, a new pattern every frame, in two cheap saturating uint8 ops."""
    rng = np.random.default_rng(seed)
    field = np.empty((height_px + _NOISE_PAD_PX, width_px + _NOISE_PAD_PX, 3), np.uint8)
    # Drawn a band of rows at a time (the same stream of numbers as all at once), so no
    # float32 field five times the size of this one is ever made.
    for top in range(0, field.shape[0], _NOISE_PAD_PX):
        band = field[top : top + _NOISE_PAD_PX]
        half = rng.standard_normal(band.shape, dtype=np.float32) * (_NOISE_SIGMA / math.sqrt(2.0))
        band[:] = np.clip(np.round(half + _NOISE_OFFSET), 0, 2 * _NOISE_OFFSET)
    return field


class DemoRenderer:
    """Draws demo frames at one size: the room, the cut-out in her pose, sensor noise."""

    def __init__(
        self, width_px: int, height_px: int, seed: int = 0, static: bool = False,
        motion: str = "sway", bystander: bool = False,
    ) -> None:
        """`bystander` puts a second, smaller person behind her (`bystander_alpha`)."""
        _check_motion(motion)
        self.width_px, self.height_px = width_px, height_px
        self.static, self.motion = static, motion
        self._cutout = _load_cutout()
        self._cutout_weight = np.ascontiguousarray(self._cutout[..., 3])
        self._head_tilt = HeadTilt(self._cutout) if motion == "tilt" and not static else None
        self._base = base_transform(width_px, height_px)
        self._background = self._cast_shadow(draw_room(width_px, height_px, seed))
        self.bystander_alpha: np.ndarray | None = None
        if bystander:
            self._background, self.bystander_alpha = draw_bystander(self._background,
                                                                   self._cutout)
        self._roi = _person_roi(self._reach_in_photo(), width_px, height_px)
        roi_shape = (self._roi.y1 - self._roi.y0, self._roi.x1 - self._roi.x0)
        self._warped = np.empty((*roi_shape, 4), np.uint8)
        self._weight = np.empty(roi_shape, np.uint8)
        self._weight3 = np.empty((*roi_shape, 3), np.uint8)
        self._person3 = np.empty((*roi_shape, 3), np.uint8)
        self._noise = _noise_field(width_px, height_px, seed + 1)
        self._noise_rng = np.random.default_rng(seed + 2)
        self._still: np.ndarray | None = None
        if static:
            self._still = self._background.copy()
            self._composite_person(self._still, self._pose(0.0))

    def _reach_in_photo(self) -> tuple[float, float, float, float]:
        """The photo box her cut-out covers in any head tilt."""
        if self._head_tilt is None:
            return _photo_box([self._cutout])
        return _photo_box([self._head_tilt.apply(tilt) for tilt in (-TILT_RAD, 0.0, TILT_RAD)])

    def _pose(self, time_s: float) -> Pose:
        return Pose(0.0, 1.0) if self.static else pose_at(time_s, self.motion)

    def _transform(self, pose: Pose) -> np.ndarray:
        """Photo pixels -> frame pixels in this pose (3x3)."""
        motion = motion_transform(pose.sway_rad, pose.zoom, self.width_px, self.height_px)
        return motion @ self._base

    def _cutout_in(self, pose: Pose) -> np.ndarray:
        """The cut-out (BGRA, photo pixels) with her head as it is in `pose`."""
        if self._head_tilt is None or pose.tilt_rad == 0.0:
            return self._cutout
        return self._head_tilt.apply(pose.tilt_rad)

    def person_alpha(self, time_s: float) -> np.ndarray:
        """Where she is in the frame at `time_s`; uint8 (H, W), 255 = person. Within one level
        of `truth(time_s).alpha_u8`, at a fraction of its cost."""
        pose = self._pose(time_s)
        weight = self._cutout_weight if pose.tilt_rad == 0.0 else self._cutout_in(pose)[..., 3]
        background_weight = cv2.warpAffine(
            np.ascontiguousarray(weight), self._transform(pose)[:2],
            (self.width_px, self.height_px), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=255,
        )
        return cv2.bitwise_not(background_weight)

    def _cast_shadow(self, room_bgr: np.ndarray) -> np.ndarray:
        """Darken the room softly behind and below where she sits, as a lamp would."""
        size = (self.width_px, self.height_px)
        person = self.person_alpha(0.0).astype(np.float32) / 255.0
        offset = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, _SHADOW_DROP * self.height_px]])
        dropped = cv2.warpAffine(person, offset, size)
        # The shadow is very soft: blur it at 1/8 size (the full-size blur costs ~0.2 s).
        small = cv2.resize(dropped, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), _SHADOW_SOFTNESS * self.height_px / 8.0)
        shadow = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)
        return shade(room_bgr, 1.0 - _SHADOW_DEPTH * shadow, _HIGHLIGHT_MAX)

    def _warp_person(self, pose: Pose, out: np.ndarray | None = None) -> np.ndarray:
        """The posed cut-out over her region of the frame (BGRA, A = background weight)."""
        roi = self._roi
        to_roi = np.array([[1.0, 0.0, -roi.x0], [0.0, 1.0, -roi.y0], [0.0, 0.0, 1.0]])
        transform = (to_roi @ self._transform(pose))[:2]
        size = (roi.x1 - roi.x0, roi.y1 - roi.y0)
        return cv2.warpAffine(
            self._cutout_in(pose), transform, size, dst=out, flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 255),
        )

    def _composite_person(self, frame_bgr: np.ndarray, pose: Pose) -> None:
        """Blend the cut-out, posed, into `frame_bgr` (in place, only her region)."""
        self._warp_person(pose, out=self._warped)
        cv2.extractChannel(self._warped, 3, dst=self._weight)
        cv2.cvtColor(self._weight, cv2.COLOR_GRAY2BGR, dst=self._weight3)
        cv2.cvtColor(self._warped, cv2.COLOR_BGRA2BGR, dst=self._person3)
        _blend(self._region(frame_bgr), self._weight3, self._person3)

    def _region(self, frame: np.ndarray) -> np.ndarray:
        roi = self._roi
        return frame[roi.y0 : roi.y1, roi.x0 : roi.x1]

    def truth(self, time_s: float) -> DemoTruth:
        """The truth of the frame at `time_s`, drawn exactly as `render` draws it (new arrays
        each call, no shared buffers: safe beside a render on another thread)."""
        warped = self._warp_person(self._pose(time_s))
        weight3 = cv2.cvtColor(np.ascontiguousarray(warped[..., 3]), cv2.COLOR_GRAY2BGR)
        person3 = cv2.cvtColor(warped, cv2.COLOR_BGRA2BGR)
        clean_bgr = self._background.copy()
        _blend(self._region(clean_bgr), weight3, person3)
        alpha_u8 = np.zeros((self.height_px, self.width_px), np.uint8)
        self._region(alpha_u8)[:] = cv2.bitwise_not(warped[..., 3])
        person_bgr = np.zeros_like(clean_bgr)
        self._region(person_bgr)[:] = person3
        return DemoTruth(alpha_u8, person_bgr, clean_bgr)

    def rest_map(self, time_s: float, box: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
        """Maps (cv2.remap) from the frame at `time_s` back into her resting pose, over `box`
        of the resting frame (see demo_motion.rest_map)."""
        return rest_map(self._pose(time_s), self._base, self.width_px, self.height_px, box)

    def render(self, time_s: float) -> np.ndarray:
        """A new frame (a fresh array) showing the pose at `time_s`."""
        if self._still is not None:
            frame_bgr = self._still.copy()
        else:
            frame_bgr = self._background.copy()
            self._composite_person(frame_bgr, self._pose(time_s))
        self._add_noise(frame_bgr)
        return frame_bgr

    def _add_noise(self, frame_bgr: np.ndarray) -> None:
        """Add one window of the noise field and subtract another (never the same one)."""
        add_y, add_x, sub_y, shift_x = self._noise_rng.integers(1, _NOISE_PAD_PX, size=4)
        sub_x = (add_x + shift_x) % _NOISE_PAD_PX
        height_px, width_px = self.height_px, self.width_px
        cv2.add(frame_bgr, self._noise[add_y : add_y + height_px, add_x : add_x + width_px],
                dst=frame_bgr)
        cv2.subtract(frame_bgr, self._noise[sub_y : sub_y + height_px, sub_x : sub_x + width_px],
                     dst=frame_bgr)


def _blend(region_bgr: np.ndarray, weight3: np.ndarray, person3: np.ndarray) -> None:
    """region = region * weight / 255 + person, in place: the premultiplied "over"."""
    cv2.multiply(region_bgr, weight3, dst=region_bgr, scale=1.0 / 255.0)
    cv2.add(region_bgr, person3, dst=region_bgr)


class DemoSource:
    """The embedded default source: the demo person in a room, at any even size.

    Paced: frames arrive at `fps` by the clock (the latest wins if the consumer is slow).
    Unpaced: every read() returns the next frame at once (benchmarks, file output).
    `static=True` keeps her still (sensor noise only); `motion` is one of DEMO_MOTIONS;
    `bystander=True` puts a second, smaller person behind her.
    """

    def __init__(
        self,
        width_px: int = 1280,
        height_px: int = 720,
        fps: float = 30.0,
        clock: Clock | None = None,
        static: bool = False,
        seed: int = 0,
        paced: bool = True,
        motion: str = "sway",
        bystander: bool = False,
    ) -> None:
        _check_motion(motion)
        if width_px < _MIN_SIZE_PX or height_px < _MIN_SIZE_PX or width_px % 2 or height_px % 2:
            raise SourceError(
                f"The demo cannot make {width_px}x{height_px} frames: use even sizes of at "
                f"least {_MIN_SIZE_PX} pixels, such as 1280x720 or 640x480."
            )
        if not (math.isfinite(fps) and fps > 0):
            raise SourceError(f"The demo frame rate must be above 0, got {fps}.")
        self.name = "demo"
        self.width_px, self.height_px, self.fps = width_px, height_px, float(fps)
        self.static, self.seed, self.paced, self.motion = static, seed, paced, motion
        self.bystander = bystander
        self.dropped_frames = 0
        self._clock: Clock = clock or SystemClock()
        self._renderer: DemoRenderer | None = None
        self._pacer: FramePacer | None = None
        # Unpaced, the next frame is drawn on its own thread while the consumer works on this
        # one (a camera decodes on its own thread too, so bench measures the pipeline).
        self._prefetcher: JobThread[np.ndarray] | None = None
        self._next_index = 0

    def open(self) -> None:
        """Draw the room and load the cut-out (tens of milliseconds); frame 0 is due now."""
        if self._renderer is not None:
            return
        self._renderer = DemoRenderer(
            self.width_px, self.height_px, self.seed, self.static, self.motion, self.bystander
        )
        self._pacer = FramePacer(self._clock, self.fps)
        self._next_index, self.dropped_frames = 0, 0

    def read(self, timeout_s: float = 1.0) -> Frame | None:
        """The next frame; paced, the one due now (waiting via the clock up to `timeout_s`)."""
        if self._renderer is None or self._pacer is None:
            raise RuntimeError("demo: call open() before read()")
        index = self._next_index
        if not self.paced:
            return self._read_prefetched(index, timeout_s)
        due_index = self._pacer.next_due(timeout_s)
        if due_index is None:
            return None
        self.dropped_frames += due_index - index
        self._next_index = due_index + 1
        image_bgr = self._renderer.render(due_index / self.fps)
        return Frame(image_bgr, self._clock.now_s(), due_index)

    def _read_prefetched(self, index: int, timeout_s: float) -> Frame | None:
        renderer = self._renderer
        assert renderer is not None
        if self._prefetcher is None:
            self._prefetcher = JobThread("backdrop-demo-render")
            self._prefetcher.submit(lambda: renderer.render(index / self.fps))
        image_bgr = self._prefetcher.take(timeout_s)
        if image_bgr is None:
            return None
        self._next_index = index + 1
        self._prefetcher.submit(lambda: renderer.render((index + 1) / self.fps))
        return Frame(image_bgr, self._clock.now_s(), index)

    def person_alpha(self, index: int) -> np.ndarray:
        """Ground truth for frame `index`: uint8 (H, W), 255 where the person is."""
        if self._renderer is None:
            raise RuntimeError("demo: call open() before person_alpha()")
        return self._renderer.person_alpha(index / self.fps)

    def bystander_alpha(self) -> np.ndarray | None:
        """Where the person behind her is (uint8, 255 = person, before she covers part of
        it), or None without one."""
        if self._renderer is None:
            raise RuntimeError("demo: call open() before bystander_alpha()")
        return self._renderer.bystander_alpha

    def truth(self, index: int) -> DemoTruth:
        """Everything the demo knows about frame `index` (see DemoTruth); safe while frames
        are being drawn."""
        if self._renderer is None:
            raise RuntimeError("demo: call open() before truth()")
        return self._renderer.truth(index / self.fps)

    def rest_map(self, index: int, box: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
        """Maps that take frame `index` back into her resting pose, over `box` of it."""
        if self._renderer is None:
            raise RuntimeError("demo: call open() before rest_map()")
        return self._renderer.rest_map(index / self.fps, box)

    def close(self) -> None:
        """Stop the render thread and free the scene. Idempotent."""
        if self._prefetcher is not None:
            self._prefetcher.close()
            self._prefetcher = None
        self._renderer, self._pacer = None, None
