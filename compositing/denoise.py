"""Denoise: average the person's grain away over time, without ghosts when they move.

A motion-adaptive recursive filter, per pixel: the running picture moves a fraction `k` of the
way to each new frame. Where the new frame differs from the running picture by no more than
sensor noise, `k` is small (what is kept of a difference d is d (C - d) / 32: at strength 1,
C = 30 and about two thirds of a few levels of grain are kept); where it differs by C levels or
more, as anything that moved does, `k` is 1 and the new frame passes straight through, so
nothing trails. It runs on the camera's person (in a few bands of rows, each as wide as the
person is there) and is added in the alpha's share of the composite, so the new background is
never touched.

It is all 8-bit, in buffers this object keeps: saturating subtracts and adds, minimums, and
numpy's integer multiply and shift for d (C - d) / 32 (OpenCV's scaled multiply goes through
floats and costs 2.6 times as much; cv2.LUT costs more still). The shift rounds down, so a
difference of one level is followed at once. Off the person (inside the bands) the running
picture is the camera's: what she moves onto has changed anyway, so it passes at once.
"""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_STRENGTH = 0.6
# C: a difference (in levels, per channel) this large is change, followed at once; smaller
# ones are followed less (sensor noise is a few levels). Strength 0..1 runs it from
# _LEAST_CHANGE_LEVELS (below which nothing would be kept) to _CHANGE_LEVELS.
_CHANGE_LEVELS = 30
_LEAST_CHANGE_LEVELS = 12
_BOX_SAMPLE = 4  # the person's extent is found on every 4th pixel (and widened by as much)
_BANDS = 4  # the person's rows are worked on in this many bands, each as wide as they are


class Denoise:
    """`apply(frame_bgr, camera_bgr, alpha_u8, out=None) -> frame_bgr`, with the running
    picture as state.

    `frame_bgr` is the composite of `camera_bgr` (the same size); a new size starts afresh.
    The result goes into `out` when given (it may be `frame_bgr` itself), else a new array.
    """

    def __init__(self, strength: float = DEFAULT_STRENGTH) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"denoise strength must be in 0..1, not {strength}")
        self.strength = strength
        self._running: np.ndarray | None = None  # uint8, the camera's picture, denoised
        self._flat = np.empty(0, np.uint8)  # the box's work arrays; only ever grows

    def reset(self) -> None:
        self._running = None

    def apply(self, frame_bgr: np.ndarray, camera_bgr: np.ndarray, alpha_u8: np.ndarray,
              out: np.ndarray | None = None) -> np.ndarray:
        if self.strength <= 0.0:
            self._running = None
            return frame_bgr
        if self._running is None or self._running.shape != camera_bgr.shape:
            self._running = camera_bgr.copy()
            return frame_bgr
        bands = person_bands(alpha_u8)
        if not bands:
            return frame_bgr
        if out is None:
            out = frame_bgr.copy()
        elif out is not frame_bgr:
            out[:] = frame_bgr
        change = self._change_levels()
        for band in bands:
            # C on the person, 0 elsewhere (so nothing is kept off the person)
            person = cv2.threshold(alpha_u8[band], 127, change, cv2.THRESH_BINARY)[1]
            up, down = self._follow(camera_bgr[band], self._running[band], person)
            # Where the alpha is the person's: out = frame + (denoised - camera). The change is
            # a few levels of noise, so switching at half alpha leaves no visible step.
            region = out[band]
            cv2.subtract(region, up, dst=region)
            cv2.add(region, down, dst=region)
        return out

    def _change_levels(self) -> int:
        """C for this strength: differences from C levels on are change, followed at once.
        What is kept of a difference d below it is d (C - d) / 32, so strength sets both how
        much of the grain is averaged and how large a difference still counts as grain. The
        strength is clamped to 0..1 (it is a settable attribute): C above 32 would let
        d (C - d) overflow 8 bits."""
        strength = min(max(self.strength, 0.0), 1.0)
        return int(round(_LEAST_CHANGE_LEVELS
                         + (_CHANGE_LEVELS - _LEAST_CHANGE_LEVELS) * strength))

    def _follow(
        self, camera: np.ndarray, running: np.ndarray, person: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Move `running` (in place) towards `camera`, per pixel and channel: on the person
        (`person`: C there, 0 elsewhere, the band's shape) it keeps d (C - d) / 32 of a
        difference d below C, none of a larger one; elsewhere `running` becomes the camera's.
        Returns how far the result stays below and above the camera (this object's buffers)."""
        rises, falls, stay, keep = self._buffers(camera.shape)
        cv2.subtract(camera, running, dst=rises)
        cv2.subtract(running, camera, dst=falls)
        cv2.bitwise_or(rises, falls, dst=stay)  # |difference| d: one of the two is 0
        cv2.cvtColor(person, cv2.COLOR_GRAY2BGR, dst=keep)
        cv2.subtract(keep, stay, dst=keep)  # C - d on the person, 0 off it or from C on
        # d (C - d) is at most C * C / 4 <= 225: exact in 8 bits; numpy's integer multiply
        # and shift cost 0.4 of OpenCV's scaled multiply. What is kept never exceeds d.
        np.multiply(stay, keep, out=stay)
        np.right_shift(stay, 5, out=stay)
        cv2.min(stay, rises, dst=rises)  # the running picture stays this far below ...
        cv2.min(stay, falls, dst=falls)  # ... or above the camera's
        cv2.subtract(camera, rises, dst=running)
        cv2.add(running, falls, dst=running)
        return rises, falls

    def _buffers(self, shape: tuple[int, ...]) -> list[np.ndarray]:
        """Four work arrays of `shape`."""
        size = int(np.prod(shape))
        if self._flat.size < 4 * size:
            self._flat = np.empty(4 * size, np.uint8)
        return [self._flat[i * size:(i + 1) * size].reshape(shape) for i in range(4)]


def person_bands(alpha_u8: np.ndarray, bands: int = _BANDS) -> list[tuple[slice, slice]]:
    """Boxes (rows, columns) that together hold every pixel of the person (alpha >= 128): the
    person's rows cut into `bands` bands, each as wide as the person is there (a head is
    narrower than the shoulders). Found on every `_BOX_SAMPLE`-th pixel, widened by its step;
    the bands never overlap. Empty for nobody."""
    step = _BOX_SAMPLE
    sampled = np.ascontiguousarray(alpha_u8[::step, ::step] >= 128).view(np.uint8)
    _x, y, width, height = cv2.boundingRect(sampled)
    if width == 0 or height == 0:
        return []
    rows, cols = alpha_u8.shape
    edges = np.linspace(max(0, (y - 1) * step), min(rows, (y + height + 1) * step),
                        bands + 1).astype(int)
    found = []
    for top, bottom in zip(edges[:-1], edges[1:], strict=True):
        # the sampled rows within one step of the band's
        near = sampled[max(0, top // step - 1):(bottom - 1) // step + 2]
        x, _y, width, _height = cv2.boundingRect(near)
        if bottom > top and width > 0:
            found.append((slice(top, bottom),
                          slice(max(0, (x - 1) * step), min(cols, (x + width + 1) * step))))
    return found
