"""Touch-up: smooth skin texture on the face and neck, edge-preserving, nowhere else.

A guided filter (each channel guiding itself) flattens fine texture but keeps edges; it is mixed
in only through a skin weight: an ellipse over the face and neck from the face box, times
skin-like colour, times the person's eroded alpha (so the hair outline and the background stay
sharp), minus discs over the eyes and the lips. The filter's coefficients and the weight are
solved at half size and applied at full size (a "fast guided filter"): both are broad and
smooth, so half size loses nothing the eye can see, and only one multiply and one add touch
the face's full-size pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_STRENGTH = 0.7
_GUIDED_RADIUS_FRACTION = 0.04  # of the face width
# Guided-filter eps on 0..255 values: texture below ~70 levels of contrast is flattened.
_GUIDED_EPS = 70.0**2
_EYE_RADIUS_FRACTION = 0.3  # of the distance between the eyes
# Skin in YCrCb (Cr, Cb ranges), widened so that lit and shaded skin both count.
_CR_RANGE = (133, 180)
_CB_RANGE = (77, 135)
_MIN_SKIN_LUMA = 70  # darker pixels are collar, shadow or hair, not skin to smooth

Box = tuple[float, float, float, float]


def touch_up_region(box: Box, width_px: int, height_px: int) -> tuple[int, int, int, int]:
    """The part of the frame touch-up reads and writes, (x0, y0, x1, y1): the face box widened
    a little and reaching down over the neck, an even number of pixels each way (OpenCV halves
    an odd-sized image many times slower)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    rx0, ry0 = max(0, int(x0 - 0.15 * w)), max(0, int(y0 - 0.1 * h))
    rx1, ry1 = min(width_px, int(x1 + 0.15 * w)), min(height_px, int(y1 + 0.7 * h))
    return rx0, ry0, rx1 - (rx1 - rx0) % 2, ry1 - (ry1 - ry0) % 2


def skin_weight(
    region_bgr: np.ndarray, alpha_u8: np.ndarray, box: Box, eyes: np.ndarray,
    origin: tuple[float, float], mouth: np.ndarray | None = None,
) -> np.ndarray:
    """Float32 weight in [0, 1] over the region: face-and-neck skin, not eyes, lips or edges.

    `box`, `eyes`, `mouth` and `origin` (the region's top left) are in the region's pixels'
    scale: halve them all for a region at half size."""
    height_px, width_px = region_bgr.shape[:2]
    ox, oy = origin
    x0, y0, x1, y1 = box
    face_w = x1 - x0
    shape = np.zeros((height_px, width_px), np.uint8)
    centre = (int((x0 + x1) / 2 - ox), int(y0 + 0.95 * (y1 - y0) - oy))
    axes = (int(0.42 * face_w), int(0.95 * (y1 - y0)))
    cv2.ellipse(shape, centre, axes, 0, 0, 360, 255, -1)
    ycrcb = cv2.cvtColor(region_bgr, cv2.COLOR_BGR2YCrCb)
    lower = np.array([_MIN_SKIN_LUMA, _CR_RANGE[0], _CB_RANGE[0]], np.uint8)
    upper = np.array([255, _CR_RANGE[1], _CB_RANGE[1]], np.uint8)
    skin = cv2.inRange(ycrcb, lower, upper)
    edge_px = max(3, int(0.06 * face_w)) | 1
    inside = cv2.erode(alpha_u8, np.ones((edge_px, edge_px), np.uint8))
    weight = cv2.min(cv2.min(shape, skin), inside)
    eye_radius_px = int(_EYE_RADIUS_FRACTION * float(np.linalg.norm(eyes[0] - eyes[1])))
    for eye_x, eye_y in eyes:
        cv2.circle(weight, (int(eye_x - ox), int(eye_y - oy)), eye_radius_px, 0, -1)
    if mouth is not None:
        mouth_axes = (int(1.6 * eye_radius_px), int(0.8 * eye_radius_px))
        mouth_centre = (int(mouth[0] - ox), int(mouth[1] - oy))
        cv2.ellipse(weight, mouth_centre, mouth_axes, 0, 0, 360, 0, -1)
    blur_px = max(3, int(0.05 * face_w)) | 1
    return cv2.GaussianBlur(weight, (blur_px, blur_px), 0).astype(np.float32) / 255.0


class TouchUp:
    """`apply(frame_bgr, alpha_u8, box, eyes, mouth, out=None)`: the frame, touched up; no state.

    `eyes` is (2, 2) and `mouth` (2,), in frame pixels (the face detector's keypoints). The
    result goes into `out` when given (it may be `frame_bgr` itself), else into a new array.
    """

    def __init__(self, strength: float = DEFAULT_STRENGTH) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"touch-up strength must be in 0..1, not {strength}")
        self.strength = strength

    def apply(
        self, frame_bgr: np.ndarray, alpha_u8: np.ndarray, box: Box | None, eyes: np.ndarray,
        mouth: np.ndarray | None = None, out: np.ndarray | None = None,
    ) -> np.ndarray:
        if box is None or self.strength <= 0.0:
            return frame_bgr
        height_px, width_px = frame_bgr.shape[:2]
        rx0, ry0, rx1, ry1 = touch_up_region(box, width_px, height_px)
        if rx1 - rx0 < 8 or ry1 - ry0 < 8:
            return frame_bgr
        region = frame_bgr[ry0:ry1, rx0:rx1]
        half_size = ((rx1 - rx0) // 2, (ry1 - ry0) // 2)
        half = cv2.resize(region, half_size, interpolation=cv2.INTER_AREA)
        alpha_half = cv2.resize(alpha_u8[ry0:ry1, rx0:rx1], half_size,
                                interpolation=cv2.INTER_AREA)
        weight = skin_weight(half, alpha_half, _halved(box), eyes / 2, (rx0 / 2, ry0 / 2),
                             None if mouth is None else mouth / 2)
        radius_px = max(2, int(_GUIDED_RADIUS_FRACTION * (box[2] - box[0])))
        a, b = guided_coefficients(half.astype(np.float32), radius_px // 2, _GUIDED_EPS)
        # out = region + mix * (a * region + b - region) = region * gain + offset
        mix = cv2.merge([self.strength * weight] * 3)
        gain = cv2.resize(1.0 + mix * (a - 1.0), region.shape[1::-1],
                          interpolation=cv2.INTER_LINEAR)
        offset = cv2.resize(mix * b, region.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        mixed = cv2.multiply(region, gain, dtype=cv2.CV_32F)
        cv2.add(mixed, offset, dst=mixed)
        if out is None:
            out = frame_bgr.copy()
        elif out is not frame_bgr:
            out[:] = frame_bgr
        cv2.convertScaleAbs(mixed, dst=out[ry0:ry1, rx0:rx1])  # rounds, saturates to 0..255
        return out


def _halved(box: Box) -> Box:
    return box[0] / 2, box[1] / 2, box[2] / 2, box[3] / 2


def guided_coefficients(
    image: np.ndarray, radius_px: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """A self-guided filter's box-averaged (a, b) for each channel of a float32 image.

    Per channel: a = var / (var + eps), b = mean - a * mean over a box of `radius_px`; then
    q = a * image + b, so edges stronger than sqrt(eps) keep their sharpness. The coefficients
    are smooth, so they may be brought to a larger size and applied there."""
    side = 2 * max(1, radius_px) + 1
    mean = cv2.boxFilter(image, -1, (side, side))
    variance = cv2.boxFilter(image * image, -1, (side, side)) - mean * mean
    a = variance / (variance + eps)
    b = mean - a * mean
    return cv2.boxFilter(a, -1, (side, side)), cv2.boxFilter(b, -1, (side, side))
