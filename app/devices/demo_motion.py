"""How the demo person moves: framing, a rigid sway and breathing zoom, and a head tilt.

"sway" moves the whole cut-out rigidly. "tilt" adds the non-rigid part: her head tilts side to
side about the neck while the torso stays put, blended smoothly through the collar. A rigid
warp moves every edge the same way; a real head moves against the shoulders, so the mask must
bend, not just slide. The tilt is a backward map on the cut-out in photo pixels, applied to
colour and alpha alike, so the demo's ground truth still holds exactly.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

# Framing, in photo pixels: the top of her hair sits at _HEAD_TOP_FRACTION of the frame
# height, the photo row _BOTTOM_ROW at the frame's bottom edge, her face centred.
_HEAD_TOP_ROW = 15.0
_BOTTOM_ROW = 440.0
_FACE_CENTRE_COL = 225.0
_HEAD_TOP_FRACTION = 0.10
# Motion: a sway about a pivot below the frame, and a slow "breathing" zoom about the
# bottom centre (so her body never lifts off the bottom edge).
_SWAY_RAD = 0.0075
_SWAY_HZ = 0.3
_SWAY_PIVOT_HEIGHTS = 1.6
_BREATH_SCALE = 0.008
_BREATH_HZ = 0.2
_BREATH_PHASE_RAD = 1.0

# "sway": the whole cut-out sways and breathes (rigid). "tilt": that, and her head tilts.
DEMO_MOTIONS = ("sway", "tilt")

class Pose(NamedTuple):
    """Where she is at one moment: sway angle, breathing zoom, and the head's own tilt."""

    sway_rad: float
    zoom: float
    tilt_rad: float = 0.0


def _as_3x3(affine_2x3: np.ndarray) -> np.ndarray:
    return np.vstack([affine_2x3, [0.0, 0.0, 1.0]])


def base_transform(width_px: int, height_px: int) -> np.ndarray:
    """Photo pixels -> frame pixels for the resting pose (3x3)."""
    scale = (1.0 - _HEAD_TOP_FRACTION) * height_px / (_BOTTOM_ROW - _HEAD_TOP_ROW)
    offset_x = width_px / 2.0 - scale * _FACE_CENTRE_COL
    offset_y = _HEAD_TOP_FRACTION * height_px - scale * _HEAD_TOP_ROW
    return np.array([[scale, 0.0, offset_x], [0.0, scale, offset_y], [0.0, 0.0, 1.0]])


def motion_transform(sway_rad: float, zoom: float, width_px: int, height_px: int) -> np.ndarray:
    """Frame pixels -> frame pixels: zoom about the bottom centre, then sway (3x3)."""
    breathe = _as_3x3(cv2.getRotationMatrix2D((width_px / 2.0, float(height_px)), 0.0, zoom))
    pivot = (width_px / 2.0, _SWAY_PIVOT_HEIGHTS * height_px)
    sway = _as_3x3(cv2.getRotationMatrix2D(pivot, math.degrees(sway_rad), 1.0))
    return sway @ breathe


def pose_at(time_s: float, motion: str) -> Pose:
    """Her pose at `time_s` into the animation."""
    sway_rad = _SWAY_RAD * math.sin(2.0 * math.pi * _SWAY_HZ * time_s)
    zoom = 1.0 + _BREATH_SCALE * math.sin(2.0 * math.pi * _BREATH_HZ * time_s + _BREATH_PHASE_RAD)
    return Pose(sway_rad, zoom, tilt_at(time_s) if motion == "tilt" else 0.0)


def extreme_motions(width_px: int, height_px: int) -> list[np.ndarray]:
    """The motion transforms at the ends of both oscillations (motion is bounded by them)."""
    return [
        motion_transform(sway, zoom, width_px, height_px)
        for sway in (-_SWAY_RAD, 0.0, _SWAY_RAD)
        for zoom in (1.0 - _BREATH_SCALE, 1.0 + _BREATH_SCALE)
    ]


def map_corners(transform: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The four corners of a box under a 3x3 transform, as a (4, 2) array."""
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0, 1.0], [x1, y0, 1.0], [x0, y1, 1.0], [x1, y1, 1.0]])
    mapped: np.ndarray = (transform @ corners.T).T[:, :2]
    return mapped


# Photo pixels: the head turns about a point in her neck, just below the chin; rows above
# _HEAD_ROW turn fully, rows below _TORSO_ROW not at all, with a smoothstep in between.
_NECK_PIVOT = (225.0, 165.0)
_HEAD_ROW = 135.0
_TORSO_ROW = 190.0
TILT_RAD = math.radians(4.0)
_TILT_HZ = 0.4


def tilt_at(time_s: float) -> float:
    """The head's tilt (radians, positive = clockwise on screen) at `time_s`."""
    return TILT_RAD * math.sin(2.0 * math.pi * _TILT_HZ * time_s)


class HeadTilt:
    """Tilts the head of a BGRA cut-out (A = background weight) by a given angle."""

    def __init__(self, cutout_bgra: np.ndarray) -> None:
        self._cutout = cutout_bgra
        height_px, width_px = cutout_bgra.shape[:2]
        ys, xs = np.mgrid[0:height_px, 0:width_px].astype(np.float32)
        share = np.clip((_TORSO_ROW - ys) / (_TORSO_ROW - _HEAD_ROW), 0.0, 1.0)
        self._head_share = share * share * (3.0 - 2.0 * share)
        self._dx, self._dy = xs - _NECK_PIVOT[0], ys - _NECK_PIVOT[1]

    def apply(self, tilt_rad: float) -> np.ndarray:
        """The cut-out with the head turned by `tilt_rad` (a new array; 0 gives an exact copy)."""
        angle = self._head_share * np.float32(tilt_rad)
        cos, sin = np.cos(angle), np.sin(angle)
        # Each output pixel samples the photo at its position turned back by its angle.
        map_x = _NECK_PIVOT[0] + cos * self._dx + sin * self._dy
        map_y = _NECK_PIVOT[1] - sin * self._dx + cos * self._dy
        return cv2.remap(
            self._cutout, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 255),
        )


def rest_map(
    pose: Pose, base: np.ndarray, width_px: int, height_px: int, box: tuple[slice, slice]
) -> tuple[np.ndarray, np.ndarray]:
    """For each pixel of `box` in the resting pose's frame, where the same point of her is in
    the frame of `pose`: cv2.remap's maps (x, y, float32) that take a frame back into her own
    frame of reference, so only what did not follow her motion changes between frames.

    The head tilt is inverted to first order (its angle taken at the resting point rather
    than the tilted one), well within a pixel for the demo's 4 degrees."""
    rows, cols = box
    ys, xs = np.mgrid[rows.start : rows.stop, cols.start : cols.stop].astype(np.float64)
    to_photo = np.linalg.inv(base)  # the resting pose moves nothing: frame = base(photo)
    photo_x = to_photo[0, 0] * xs + to_photo[0, 1] * ys + to_photo[0, 2]
    photo_y = to_photo[1, 0] * xs + to_photo[1, 1] * ys + to_photo[1, 2]
    if pose.tilt_rad:
        share = np.clip((_TORSO_ROW - photo_y) / (_TORSO_ROW - _HEAD_ROW), 0.0, 1.0)
        angle = share * share * (3.0 - 2.0 * share) * pose.tilt_rad
        cos, sin = np.cos(angle), np.sin(angle)
        dx, dy = photo_x - _NECK_PIVOT[0], photo_y - _NECK_PIVOT[1]
        # HeadTilt samples the photo at R(-angle) about the pivot; a point moves by R(angle).
        photo_x = _NECK_PIVOT[0] + cos * dx - sin * dy
        photo_y = _NECK_PIVOT[1] + sin * dx + cos * dy
    to_frame = motion_transform(pose.sway_rad, pose.zoom, width_px, height_px) @ base
    frame_x = to_frame[0, 0] * photo_x + to_frame[0, 1] * photo_y + to_frame[0, 2]
    frame_y = to_frame[1, 0] * photo_x + to_frame[1, 1] * photo_y + to_frame[1, 2]
    return frame_x.astype(np.float32), frame_y.astype(np.float32)
