"""Cheap resizing: repeated 2x area downscaling into reused buffers, and the part of an
upscale that is wanted."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


class Halver:
    """Shrinks images by 2**halvings with repeated 2x area averaging, reusing its buffers.

    OpenCV's INTER_AREA has a fast path for exactly 2x, several times quicker than one 4x or 8x
    step. The returned array is this object's own buffer: valid until the next shrink() call.
    """

    def __init__(self) -> None:
        self._levels: list[np.ndarray] = []

    def shrink(self, image: np.ndarray, halvings: int,
               given: Sequence[np.ndarray] = ()) -> np.ndarray:
        """Return image shrunk halvings times (at least one); each side at least 1 px.

        `given` is `image` halved once, twice, ... already by the same 2x area averaging (the
        engine halves every frame for the model's input, see `halvings`): those levels are used
        instead of halving again, as far as they go and have the right size and type."""
        if halvings < 1:
            raise ValueError(f"halvings must be at least 1, got {halvings}")
        current, first = image, 0
        for made in given[:halvings]:
            if made.dtype != image.dtype or made.shape != _half_shape(current):
                break
            current, first = made, first + 1
        for level in range(first, halvings):
            shape = _half_shape(current)
            while len(self._levels) <= level:
                self._levels.append(np.empty(0, image.dtype))
            if self._levels[level].shape != shape or self._levels[level].dtype != image.dtype:
                self._levels[level] = np.empty(shape, image.dtype)
            smaller = self._levels[level]
            cv2.resize(current, (shape[1], shape[0]), dst=smaller, interpolation=cv2.INTER_AREA)
            current = smaller
        return current


def _half_shape(image: np.ndarray) -> tuple[int, ...]:
    return (max(1, image.shape[0] // 2), max(1, image.shape[1] // 2), *image.shape[2:])


def halvings(image: np.ndarray, size: tuple[int, int]) -> list[np.ndarray]:
    """`image` halved by 2x area averaging, again and again while it is at least twice `size`
    (width, height) both ways: each level a new array, the smallest last (none if `image` is
    less than twice `size`)."""
    width_px, height_px = size
    levels: list[np.ndarray] = []
    while image.shape[1] >= 2 * width_px and image.shape[0] >= 2 * height_px:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2),
                           interpolation=cv2.INTER_AREA)
        levels.append(image)
    return levels


def shrink_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` at `size` (width, height): halved by 2x area averaging while it is at least
    twice the size (OpenCV's fast path, several times quicker than one large INTER_AREA, and
    INTER_AREA at an odd ratio is slower still), then bilinear the rest of the way.

    The one recipe for every reduction in Backdrop: the model input, refinement's guide, the
    work frame and the preview. Returns `image` itself when it has the size already.
    """
    levels = halvings(image, size)
    if levels:
        image = levels[-1]
    if image.shape[:2] == (size[1], size[0]):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def resized_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` at `size` (width, height), keeping its aspect: `shrink_to` when that reduces it,
    `scale_to` when it enlarges it; a new contiguous array unless `image` is one of that size
    already (then `image` itself)."""
    if image.shape[:2] == (size[1], size[0]):
        return np.ascontiguousarray(image)
    if image.shape[1] > size[0]:
        return shrink_to(image, size)  # a new array at another size
    return scale_to(image, size)


def scale_to(image: np.ndarray, size: tuple[int, int],
             out: np.ndarray | None = None) -> np.ndarray:
    """`image` enlarged to `size` (width, height), bilinear, as `cv2.resize` would to within
    one level, into `out` when given (a view of that size and type). An inverse-mapped
    `warpAffine` with the edge pixels repeated, which this OpenCV runs 1.3-2x quicker than
    `cv2.resize` for 8-bit pictures, and 2.5x for one channel (see the README). For enlarging:
    it reads no more than the four nearest pixels, so a large reduction would alias."""
    width, height = size
    scale_x, scale_y = image.shape[1] / width, image.shape[0] / height
    # Output pixel x samples the image at (x + 0.5) * scale - 0.5, as cv2.resize does.
    matrix = np.array([[scale_x, 0.0, 0.5 * scale_x - 0.5], [0.0, scale_y, 0.5 * scale_y - 0.5]])
    return cv2.warpAffine(image, matrix, (width, height), dst=out,
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def upscale(small: np.ndarray, scale: int, out: np.ndarray,
            region: tuple[slice, slice] | None = None) -> None:
    """Write the bilinear `scale`x upscale of `small` into `out` (`scale` times its size), all
    of it or only over `region` (rows, columns), as `cv2.resize` would to within one level.

    An inverse-mapped `warpAffine`, 2-3x quicker than `cv2.resize` in this OpenCV for 8-bit
    pictures. `scale` is a power of two, so every sample position is exact in the warp's fixed
    point and a region is the same to the bit as that part of the whole."""
    if scale < 1 or scale & (scale - 1):
        raise ValueError(f"scale must be a power of two, got {scale}")
    rows, cols = region or (slice(0, out.shape[0]), slice(0, out.shape[1]))
    top, bottom, _ = rows.indices(out.shape[0])
    left, right, _ = cols.indices(out.shape[1])
    if bottom <= top or right <= left:
        return
    # Output pixel x samples small at (x + 0.5) / scale - 0.5, as cv2.resize does.
    offset = 0.5 / scale - 0.5
    matrix = np.array([[1.0 / scale, 0.0, offset + left / scale],
                       [0.0, 1.0 / scale, offset + top / scale]])
    cv2.warpAffine(small, matrix, (right - left, bottom - top), dst=out[top:bottom, left:right],
                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                   borderMode=cv2.BORDER_REPLICATE)
