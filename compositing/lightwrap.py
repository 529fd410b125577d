"""Light wrap: let the new background's light spill a little over the person's edge."""

from __future__ import annotations

import cv2
import numpy as np

from compositing.blend import (
    AlphaTiles,
    ByteBlender,
    PackedTiles,
    alpha_bytes,
    check_alpha,
    on_tiles,
    person_region,
    scratch_bytes,
    tile_side_px,
)
from compositing.downscale import Halver, upscale

# Width of the wrap band as a Gaussian sigma, as a fraction of the frame height.
_BAND_SIGMA_FRACTION = 0.008
# The blurs run 2**_HALVINGS times smaller than the frame.
_HALVINGS = 2


class LightWrap:
    """Applies light wrap; reuses its buffers and, for a read-only background, its blurred copy."""

    def __init__(self, bytes_blender: ByteBlender | None = None) -> None:
        """`bytes_blender` may be shared with the Blender (both run on one thread)."""
        self._alpha_halver = Halver()
        self._background_halver = Halver()
        self._band = np.empty((0, 0), np.uint8)
        self._keep = np.empty(0, np.uint8)
        self._bytes = bytes_blender or ByteBlender()
        self._packed = PackedTiles()
        self._wrap_bgr = np.empty((0, 0, 3), np.uint8)
        self._wrap_source: np.ndarray | None = None

    def apply(
        self,
        composited_bgr: np.ndarray,
        alpha: np.ndarray,
        background_bgr: np.ndarray,
        strength: float,
        out: np.ndarray | None = None,
        within: tuple[slice, slice] | None = None,
    ) -> np.ndarray:
        """Mix blurred background into a thin band just inside the person's edge.

        The band is (1 - blur(alpha)) * alpha: zero on the background (alpha 0) and deep inside
        the person (blurred alpha 1). out may be composited_bgr itself. With `within` (whole
        tiles of the frame, see `compositing.blend.on_tiles`) only that part is wrapped.
        """
        check_alpha(composited_bgr, alpha)
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"light wrap strength must be between 0 and 1, got {strength}")
        if out is None or out.shape != composited_bgr.shape or out.dtype != np.uint8:
            out = np.empty_like(composited_bgr)
        if out is not composited_bgr:
            np.copyto(out, composited_bgr)
        alpha_u8 = alpha_bytes(alpha)
        region = person_region(alpha_u8)  # the band needs alpha > 0
        if strength == 0.0 or region[0].stop <= region[0].start:
            return out
        side = tile_side_px(*alpha_u8.shape)
        if side is not None:  # whole tiles: the band covers a few percent of the person's box
            region = on_tiles(region, side)
        if within is not None:
            region = _overlap(region, within)
            if region[0].stop <= region[0].start or region[1].stop <= region[1].start:
                return out
        wrap = self._wrap_weights(alpha_u8, region, strength)
        wrap_bgr = self._blurred_background(background_bgr, alpha.shape)
        tiles = None if side is None else AlphaTiles(wrap, side, any_above_zero=True)
        keep = cv2.bitwise_not(wrap, dst=wrap)
        if tiles is None:
            self._bytes.blend(composited_bgr, wrap_bgr, keep, region, out)
            return out
        # Where the wrap's weight is 0 the picture stays as it is: only the band's tiles change.
        self._packed.pack(tiles, composited_bgr[region], wrap_bgr[region], keep)
        self._packed.blend_into(self._bytes, out[region])
        return out

    def _wrap_weights(
        self, alpha_u8: np.ndarray, region: tuple[slice, slice], strength: float
    ) -> np.ndarray:
        """The wrap's weights inside `region`, uint8: 255 * strength * alpha * (1 - blur(alpha)).
        The array is reused by the next call."""
        alpha_small = self._alpha_halver.shrink(alpha_u8, _HALVINGS)
        sigma_small_px = max(0.5, _BAND_SIGMA_FRACTION * alpha_small.shape[0])
        cv2.GaussianBlur(alpha_small, (0, 0), sigma_small_px, dst=alpha_small)
        cv2.bitwise_not(alpha_small, dst=alpha_small)  # 1 - blurred alpha
        if self._band.shape != alpha_u8.shape:
            self._band = np.empty_like(alpha_u8)
        scale = 2**_HALVINGS
        if alpha_small.shape[0] * scale == alpha_u8.shape[0] \
                and alpha_small.shape[1] * scale == alpha_u8.shape[1]:
            upscale(alpha_small, scale, self._band, region)  # only the part used
        else:
            cv2.resize(alpha_small, (alpha_u8.shape[1], alpha_u8.shape[0]), dst=self._band,
                       interpolation=cv2.INTER_LINEAR)
        rows, cols = region
        wrap = scratch_bytes(self, "_keep", (rows.stop - rows.start, cols.stop - cols.start))
        cv2.multiply(self._band[region], alpha_u8[region], dst=wrap, scale=strength / 255.0)
        return wrap

    def _blurred_background(self, background_bgr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The background, blurred; reused while the caller passes the same read-only array."""
        if background_bgr is self._wrap_source and self._wrap_bgr.shape[:2] == shape:
            return self._wrap_bgr
        background_small = self._background_halver.shrink(background_bgr, _HALVINGS)
        sigma_small_px = max(0.5, _BAND_SIGMA_FRACTION * background_small.shape[0])
        cv2.GaussianBlur(background_small, (0, 0), sigma_small_px, dst=background_small)
        if self._wrap_bgr.shape != background_bgr.shape:
            self._wrap_bgr = np.empty_like(background_bgr)
        scale = 2**_HALVINGS
        if background_small.shape[:2] == (shape[0] // scale, shape[1] // scale) \
                and shape[0] % scale == 0 and shape[1] % scale == 0:
            upscale(background_small, scale, self._wrap_bgr)
        else:
            cv2.resize(background_small, (shape[1], shape[0]), dst=self._wrap_bgr,
                       interpolation=cv2.INTER_LINEAR)
        # A read-only array (the cached image and colour plates) cannot change under us.
        self._wrap_source = None if background_bgr.flags.writeable else background_bgr
        return self._wrap_bgr


def _overlap(first: tuple[slice, slice], second: tuple[slice, slice]) -> tuple[slice, slice]:
    """The rows and columns two regions share (possibly empty)."""
    return (slice(max(first[0].start, second[0].start), min(first[0].stop, second[0].stop)),
            slice(max(first[1].start, second[1].start), min(first[1].stop, second[1].stop)))


def light_wrap(
    composited_bgr: np.ndarray, alpha: np.ndarray, background_bgr: np.ndarray, strength: float
) -> np.ndarray:
    """Return composited_bgr with strength (0..1) of blurred background wrapped over its edge."""
    return LightWrap().apply(composited_bgr, alpha, background_bgr, strength)
