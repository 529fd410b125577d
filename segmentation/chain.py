"""From the model's confidence to the alpha the compositor uses: fill pinholes, smooth, refine,
stabilise.

The engine's stages and `backdrop quality` both run this one chain, so the report measures
exactly what users see.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from compositing.blend import strips_around
from compositing.downscale import scale_to, shrink_to
from segmentation.pinholes import fill_pinholes
from segmentation.refine import AlphaRefiner
from segmentation.smoothing import AlphaStabilizer, MotionAwareSmoother

# 'fast' refinement of frames wider than this works on the frame at half size and enlarges the
# alpha once, at a quarter of the full-size cost: the mask is 256 px wide, so a 640 px alpha (for
# 720p) or a 960 px one (1080p) still places edges within about a pixel of the output. 'best'
# always works at full size. On the demo at 720p, against her true alpha, half size (with the
# contrast below) scored lower dt and edge colour and the same boundary F as full size, 0.0006
# lower IoU, and lower edge alignment (0.44 against 0.54): its 0.5 line follows the grain of
# her hair less closely (README, Edge quality).
FAST_MAX_WORK_WIDTH_PX = 1024
# Halving blurs the guide, so the fit's edge spans more of the output than a full-size fit's. A
# half-size alpha with fewer than this many pixels per mask pixel (720p's 2.5, not 1080p's 3.75)
# gets its edge's contrast raised by HALF_SIZE_CONTRAST; measured on the demo, 1.2 gave the best
# dt and edge colour together at 720p, and at 1080p any raise cost more dt than it saved colour.
_COARSE_WORK_PX_PER_MASK_PX = 3.0
HALF_SIZE_CONTRAST = 1.2


# Refinement works only in the box around pixels whose smoothed confidence exceeds this (plus a
# margin wider than the guided filter's window); everywhere else the alpha is 0 for certain.
_BOX_CONFIDENCE = 0.05
_BOX_MARGIN_MASK_PX = 8
# A box covering more of the frame than this is not worth cropping to.
_BOX_MAX_AREA_SHARE = 0.8


_Box = tuple[tuple[slice, slice], tuple[slice, slice]]
# A smaller box replaces the kept one only once it is below this share of its area.
_KEEP_BOX_AREA_SHARE = 0.6


def _edge_contrast(frame_width_px: int, work_width_px: int, mask_width_px: int) -> float:
    """How much steeper the edge's ramp is made: HALF_SIZE_CONTRAST for a coarse half-size work
    frame, else 1."""
    if work_width_px == frame_width_px:
        return 1.0
    if work_width_px < _COARSE_WORK_PX_PER_MASK_PX * mask_width_px:
        return HALF_SIZE_CONTRAST
    return 1.0


def _inside(inner: tuple[slice, slice], outer: tuple[slice, slice]) -> bool:
    return all(o.start <= i.start and i.stop <= o.stop for i, o in zip(inner, outer, strict=True))


def _area(box: tuple[slice, slice]) -> int:
    return int((box[0].stop - box[0].start) * (box[1].stop - box[1].start))


def person_box(
    smoothed: np.ndarray, work_width_px: int, work_height_px: int
) -> _Box | None:
    """The box around the person in mask and in work-frame pixels, or None to refine it all.

    Box edges fall on mask pixels that map to even work pixels, so refining the crop gives
    the same alpha as refining the frame and cropping, and the crop halves on OpenCV's fast
    2x path (an odd-sized crop halves 25 to 75 times slower).
    """
    mask_height, mask_width = smoothed.shape
    quantum = _aligned_quantum(mask_width, work_width_px, mask_height, work_height_px)
    rows = np.flatnonzero(smoothed.max(axis=1) > _BOX_CONFIDENCE)
    if quantum is None or rows.size == 0:
        return None
    cols = np.flatnonzero(smoothed.max(axis=0) > _BOX_CONFIDENCE)
    row_span = _widen(rows[0], rows[-1] + 1, quantum, mask_height)
    col_span = _widen(cols[0], cols[-1] + 1, quantum, mask_width)
    area = (row_span[1] - row_span[0]) * (col_span[1] - col_span[0])
    if area > _BOX_MAX_AREA_SHARE * mask_height * mask_width:
        return None
    y_scale, x_scale = work_height_px / mask_height, work_width_px / mask_width
    mask_box = (slice(*row_span), slice(*col_span))
    work_box = (slice(round(row_span[0] * y_scale), round(row_span[1] * y_scale)),
                slice(round(col_span[0] * x_scale), round(col_span[1] * x_scale)))
    return mask_box, work_box


def _aligned_quantum(mask_w: int, work_w: int, mask_h: int, work_h: int) -> int | None:
    """The smallest step in mask pixels that lands on an even number of work pixels both ways."""
    for quantum in range(1, 33):
        if (quantum * work_w) % (2 * mask_w) == 0 and (quantum * work_h) % (2 * mask_h) == 0:
            return quantum
    return None


def _widen(start: int, stop: int, quantum: int, limit: int) -> tuple[int, int]:
    start = max(0, (start - _BOX_MARGIN_MASK_PX) // quantum * quantum)
    stop = min(limit, -(-(stop + _BOX_MARGIN_MASK_PX) // quantum) * quantum)
    return int(start), int(stop)


class AlphaChain:
    """Temporal smoothing at model resolution, guided refinement, then a hold at work size."""

    def __init__(self, smoothing: float, refinement: str) -> None:
        self.smoother = MotionAwareSmoother(smoothing)
        self.refiner = AlphaRefiner(refinement)
        self.stabilizer = AlphaStabilizer()
        self._alpha_full: np.ndarray | None = None
        self._alpha_work: np.ndarray | None = None
        self._box: _Box | None = None
        # The mask and work-frame shapes the kept box was made for: a box in one work size's
        # pixels is meaningless in another's (the work size follows the refinement setting).
        self._box_shapes: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    def configure(self, smoothing: float, refinement: str) -> None:
        self.smoother.ratio = smoothing
        self.refiner.quality = refinement

    def reset(self) -> None:
        self.smoother.reset()
        self.stabilizer.reset()
        self._box = None

    def smooth(self, confidence: np.ndarray, small_gray: np.ndarray) -> np.ndarray:
        """The temporally smoothed confidence at model resolution, its pinholes filled."""
        return self.smoother.update(fill_pinholes(confidence), small_gray)

    def alpha(
        self,
        smoothed: np.ndarray,
        frame_bgr: np.ndarray,
        edge_softness: float,
        work_bgr: np.ndarray | None = None,
        carried: bool = False,
    ) -> np.ndarray:
        """The full-size alpha for the frame (uint8, 255 = person), stabilised where the picture
        is still.

        `work_bgr` is `work_frame(frame_bgr)` when the caller made it already. `carried` says the
        mask is an earlier frame's (no fresh hold weights apply). The returned array is reused
        by the next call; copy it to keep it.
        """
        if work_bgr is None:
            work_bgr = self.work_frame(frame_bgr)
        hold = None if carried else self.smoother.last_hold
        box = self._steady_box(
            person_box(smoothed, work_bgr.shape[1], work_bgr.shape[0]),
            (smoothed.shape, work_bgr.shape[:2]),
        )
        alpha = self._alpha_buffer(work_bgr.shape[:2])
        contrast = _edge_contrast(frame_bgr.shape[1], work_bgr.shape[1], smoothed.shape[1])
        if box is None:
            self.refiner.refine(smoothed, work_bgr, edge_softness, out=alpha, contrast=contrast)
            region = None
        else:
            mask_box, region = box
            self.refiner.refine(smoothed[mask_box], work_bgr[region], edge_softness,
                                out=alpha[region], contrast=contrast)
            for strip in strips_around(*region):
                alpha[strip] = 0
            hold = None if hold is None else hold[mask_box]
        if self.smoother.ratio > 0.0:
            alpha = self.stabilizer.update(alpha, hold, region)
        if work_bgr is frame_bgr:
            return alpha
        height_px, width_px = frame_bgr.shape[:2]
        if self._alpha_full is None or self._alpha_full.shape != (height_px, width_px):
            self._alpha_full = np.empty((height_px, width_px), np.uint8)
        return scale_to(alpha, (width_px, height_px), out=self._alpha_full)

    def _steady_box(
        self, box: _Box | None, shapes: tuple[tuple[int, ...], tuple[int, ...]]
    ) -> _Box | None:
        """Keep the last box while the new one fits inside it and is not much smaller: a box
        that jitters with noise would move the refinement's sampling grid every frame. A box
        kept for other mask or work-frame shapes is dropped."""
        last = self._box if shapes == self._box_shapes else None
        if box is not None and last is not None and _inside(box[0], last[0]):
            if _area(box[0]) >= _KEEP_BOX_AREA_SHARE * _area(last[0]):
                return last
        self._box, self._box_shapes = box, shapes
        return box

    def _alpha_buffer(self, shape: tuple[int, ...]) -> np.ndarray:
        if self._alpha_work is None or self._alpha_work.shape != shape:
            self._alpha_work = np.empty(shape, np.uint8)
        return self._alpha_work

    def work_frame(self, frame_bgr: np.ndarray, halves: Sequence[np.ndarray] = ()) -> np.ndarray:
        """The frame refinement works on: the frame itself, or for 'fast' on a wide frame the
        frame at half size (the first of `halves`, the frame's `halvings`, when given)."""
        height_px, width_px = frame_bgr.shape[:2]
        if self.refiner.quality != "fast" or width_px <= FAST_MAX_WORK_WIDTH_PX:
            return frame_bgr
        half_size = (width_px // 2, height_px // 2)
        if halves and halves[0].shape[:2] == (half_size[1], half_size[0]):
            return halves[0]
        return shrink_to(frame_bgr, half_size)
