"""Auto-framing: an output crop that follows the person, as Center Stage does.

`AutoFraming.update(alpha)` moves the crop one frame's step towards where the person is:
centred on the head, its top a sixth of the crop's height below the crop's top edge, the
crop about `_HEAD_WIDTHS` head widths wide, the zoom at most `zoom_max`. It follows with a
dead zone (a new target is taken only when the person moved or grew enough) and eased
motion that never moves an edge more than `MAX_STEP` of the width in a frame, and it stops
exactly once it arrives, so a still person gets a still picture. With nobody in the
picture it eases back to the full frame. `apply(frame)` crops and scales back to the frame's size
(or straight to the smaller size a meeting gets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compositing.downscale import resized_to

FRAMINGS = ("off", "auto")
MAX_STEP = 0.02  # of the frame width, per frame: the most the crop moves or grows
HEAD_ROOM = 1.0 / 6.0  # of the crop height, above the top of the head
_HEAD_WIDTHS = 3.5  # the crop is this many head widths wide (then capped by the zoom)
_HEAD_SHARE = 0.25  # of the person's height, from the top: the head
_DEAD_ZONE = 0.04  # of the frame width: moves smaller than this keep the current target
_EASE = 0.12  # of the remaining way, per frame
_ARRIVED_PX = 0.5
_SAMPLE = 8  # the person's box is found on every _SAMPLE-th pixel
_PERSON_U8 = 128


@dataclass(frozen=True)
class Crop:
    """A crop in frame pixels: centre and width; the height follows the frame's shape."""

    centre_x: float
    centre_y: float
    width: float


class AutoFraming:
    """The crop's state, keyed by the frame size (a new size starts from the full frame)."""

    def __init__(self, zoom_max: float = 1.6) -> None:
        self.zoom_max = zoom_max
        self._size: tuple[int, int] = (0, 0)
        self._crop: Crop | None = None
        self._target: Crop | None = None

    def reset(self) -> None:
        self._size, self._crop, self._target = (0, 0), None, None

    def update(self, alpha: np.ndarray,
               face_box: tuple[int, int, int, int] | None = None) -> tuple[int, int, int, int]:
        """Step towards the person in `alpha` (uint8, 255 = person); return (x, y, w, h).

        `face_box` (x, y, w, h), when a face detector gives one, places the head room.
        """
        height, width = alpha.shape[:2]
        if (width, height) != self._size or self._crop is None:
            self._size = (width, height)
            self._crop = self._target = _full(width, height)
        wanted = self._wanted(alpha, face_box)
        assert self._target is not None
        if _differs(wanted, self._target, _DEAD_ZONE * width):
            self._target = wanted
        self._crop = _step(self._crop, self._target, MAX_STEP * width, height / width)
        return self.box()

    def box(self) -> tuple[int, int, int, int]:
        """The current crop as whole pixels (x, y, w, h), inside the frame."""
        width, height = self._size
        crop = self._crop or _full(width, height)
        crop_w = int(round(min(crop.width, width)))
        crop_h = int(round(crop_w * height / width))
        x = int(round(min(max(crop.centre_x - crop_w / 2, 0), width - crop_w)))
        y = int(round(min(max(crop.centre_y - crop_h / 2, 0), height - crop_h)))
        return x, y, crop_w, crop_h

    def apply(self, frame_bgr: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        """The current crop of `frame_bgr`, scaled to `size` (width, height; default the
        frame's own), in one pass: the stage's whole cost. A camera larger than the virtual
        camera's picture is cropped at full size and scaled straight to the smaller size,
        never enlarged first and reduced after."""
        height, width = frame_bgr.shape[:2]
        size = size or (width, height)
        x, y, crop_w, crop_h = self.box()
        if self._size != (width, height) or (crop_w, crop_h) == (width, height):
            return resized_to(frame_bgr, size)  # the frame itself at its own size
        return resized_to(frame_bgr[y:y + crop_h, x:x + crop_w], size)

    def _wanted(self, alpha: np.ndarray,
                face_box: tuple[int, int, int, int] | None) -> Crop:
        """Where the crop should be for this frame's person (the full frame for nobody)."""
        height, width = alpha.shape[:2]
        person = alpha[::_SAMPLE, ::_SAMPLE] >= _PERSON_U8
        rows = np.flatnonzero(person.any(axis=1))
        if rows.size == 0:
            return _full(width, height)
        # The head: the top quarter of the person (arms and held things do not pull the crop).
        head_rows = max(int((rows[-1] - rows[0] + 1) * _HEAD_SHARE), 1)
        cols = np.flatnonzero(person[rows[0]:rows[0] + head_rows].any(axis=0))
        left, right = cols[0] * _SAMPLE, (cols[-1] + 1) * _SAMPLE
        top, centre_x = rows[0] * _SAMPLE, (left + right) / 2.0
        if face_box is not None:
            face_x, face_y, face_w, face_h = face_box
            top, centre_x = face_y - 0.25 * face_h, face_x + face_w / 2.0
            left, right = face_x, face_x + face_w
        crop_w = min(max((right - left) * _HEAD_WIDTHS, width / self.zoom_max), width)
        crop_h = crop_w * height / width
        centre_y = top - HEAD_ROOM * crop_h + crop_h / 2.0
        return _inside(Crop(centre_x, centre_y, crop_w), width, height)


def _full(width: int, height: int) -> Crop:
    return Crop(width / 2.0, height / 2.0, float(width))


def _inside(crop: Crop, width: int, height: int) -> Crop:
    """The same crop moved (not shrunk) to lie inside the frame."""
    half_w, half_h = crop.width / 2.0, crop.width * height / width / 2.0
    return Crop(min(max(crop.centre_x, half_w), width - half_w),
                min(max(crop.centre_y, half_h), height - half_h), crop.width)


def _differs(a: Crop, b: Crop, tolerance_px: float) -> bool:
    return max(abs(a.centre_x - b.centre_x), abs(a.centre_y - b.centre_y),
               abs(a.width - b.width)) > tolerance_px


def _step(crop: Crop, target: Crop, max_px: float, aspect: float) -> Crop:
    """One eased step towards `target`: the same fraction of the way for centre and width
    (so the crop stays inside the frame), no edge moving more than `max_px`; exact on
    arrival. `aspect` is height / width."""
    d_x, d_y, d_w = (target.centre_x - crop.centre_x, target.centre_y - crop.centre_y,
                     target.width - crop.width)
    edge_px = max(abs(d_x) + abs(d_w) / 2.0, abs(d_y) + abs(d_w) * aspect / 2.0)
    if edge_px <= _ARRIVED_PX:
        return target
    fraction = min(max(_EASE, _ARRIVED_PX / edge_px), max_px / edge_px, 1.0)
    return Crop(crop.centre_x + d_x * fraction, crop.centre_y + d_y * fraction,
                crop.width + d_w * fraction)

