"""Alpha-blend the person over a background with 8-bit weights, only where the alpha is mixed.

Most of a frame is sure: background where the alpha is 0, the person where it is 255. The frame
is cut into square tiles; the person's sure pixels are copied, and only the tiles that hold a
mixed alpha (the edge, a few percent of the frame) are gathered into one packed array, blended
there and put back. Frames that no tile size divides are blended in the person's box instead.
"""

from __future__ import annotations

import cv2
import numpy as np

from compositing.alpha import alpha_to_u8


def check_alpha(frame_bgr: np.ndarray, alpha: np.ndarray) -> None:
    """Raise ValueError unless frame_bgr is uint8 (H, W, 3) and alpha is (H, W), either uint8
    (0..255) or float32 (0..1)."""
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
        raise ValueError(
            f"frame_bgr must be a uint8 (H, W, 3) array, got {frame_bgr.dtype} {frame_bgr.shape}"
        )
    if alpha.shape != frame_bgr.shape[:2] or alpha.dtype not in (np.uint8, np.float32):
        raise ValueError(
            f"alpha must be uint8 or float32 {frame_bgr.shape[:2]} like the frame, "
            f"got {alpha.dtype} {alpha.shape}"
        )


def alpha_bytes(alpha: np.ndarray) -> np.ndarray:
    """The alpha as uint8 0..255: itself if it already is, else a rounded copy of a float one."""
    return alpha if alpha.dtype == np.uint8 else alpha_to_u8(alpha)


class ByteBlender:
    """out = first * w + second * (1 - w) inside a region, with w as 8-bit weights.

    Twice as fast as cv2.blendLinear's float weights; w of 0 and 255 stay exact, and mixed
    pixels are within one level of the float result. Reuses its buffers.
    """

    def __init__(self) -> None:
        self._weights = np.empty(0, np.uint8)
        self._first = np.empty(0, np.uint8)

    def blend(
        self,
        first_bgr: np.ndarray,
        second_bgr: np.ndarray,
        first_weight_u8: np.ndarray,
        region: tuple[slice, slice],
        out: np.ndarray,
    ) -> None:
        """Blend inside `region` of full-size arrays; `first_weight_u8` is the region's weights
        (uint8, its shape). `out` may be either input."""
        height_px, width_px = first_weight_u8.shape
        weights = scratch_bytes(self, "_weights", (height_px, width_px, 3))
        first = scratch_bytes(self, "_first", (height_px, width_px, 3))
        cv2.cvtColor(first_weight_u8, cv2.COLOR_GRAY2BGR, dst=weights)
        cv2.multiply(first_bgr[region], weights, dst=first, scale=1.0 / 255.0)
        cv2.bitwise_not(weights, dst=weights)
        cv2.multiply(second_bgr[region], weights, dst=out[region], scale=1.0 / 255.0)
        cv2.add(out[region], first, dst=out[region])


def scratch_bytes(owner: object, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A contiguous uint8 array of `shape` on a flat buffer that only ever grows, so a box that
    changes size every frame neither reallocates nor holds more than the largest box."""
    size = int(np.prod(shape))
    flat: np.ndarray = getattr(owner, name)
    if flat.size < size:
        flat = np.empty(size, np.uint8)
        setattr(owner, name, flat)
    return flat[:size].reshape(shape)


class Blender:
    """Composites frames; blends only the tiles on the person's edge and reuses its buffers."""

    def __init__(self, bytes_blender: ByteBlender | None = None) -> None:
        """`bytes_blender` may be shared with the light wrap (both run on one thread)."""
        self._bytes = bytes_blender or ByteBlender()
        self._packed = PackedTiles()

    def composite(
        self,
        frame_bgr: np.ndarray,
        alpha: np.ndarray,
        background_bgr: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return frame * alpha + background * (1 - alpha) as uint8 BGR, into out if given.

        out may be frame_bgr or background_bgr itself.
        """
        check_alpha(frame_bgr, alpha)
        if background_bgr.shape != frame_bgr.shape or background_bgr.dtype != np.uint8:
            raise ValueError(
                f"background_bgr must be uint8 {frame_bgr.shape} like the frame, "
                f"got {background_bgr.dtype} {background_bgr.shape}"
            )
        if out is None or out.shape != frame_bgr.shape or out.dtype != np.uint8:
            out = np.empty_like(frame_bgr)
        alpha_u8 = alpha_bytes(alpha)
        side = tile_side_px(*alpha_u8.shape)
        if side is None or out is frame_bgr:
            return self._composite_box(frame_bgr, alpha_u8, background_bgr, out)
        tiles = AlphaTiles(alpha_u8, side)
        rows, cols = tiles.person_box()
        if tiles.count * side * side > _MOST_MIXED_SHARE * (rows.stop - rows.start) * (
                cols.stop - cols.start):  # a weight mixed nearly everywhere (portrait blur)
            return self._composite_box(frame_bgr, alpha_u8, background_bgr, out)
        # The edge's tiles are read before anything is written: out may be the background.
        self._packed.pack(tiles, frame_bgr, background_bgr, alpha_u8)
        # Outside the person's tiles alpha is 0: the output there is the background.
        if out is not background_bgr:
            np.copyto(out, background_bgr)
        if rows.stop > rows.start:
            cv2.copyTo(frame_bgr[rows, cols], alpha_u8[rows, cols], out[rows, cols])
        self._packed.blend_into(self._bytes, out)
        return out

    def _composite_box(
        self, frame_bgr: np.ndarray, alpha_u8: np.ndarray, background_bgr: np.ndarray,
        out: np.ndarray,
    ) -> np.ndarray:
        """The blend over the person's whole box, for frames no tile size divides."""
        rows, cols = person_region(alpha_u8)
        for strip in strips_around(rows, cols):
            if out is not background_bgr:
                out[strip] = background_bgr[strip]
        if rows.stop <= rows.start or cols.stop <= cols.start:
            return out
        self._bytes.blend(frame_bgr, background_bgr, alpha_u8[rows, cols], (rows, cols), out)
        return out


# Tile sides tried, best first: small enough that the edge's tiles are few pixels beyond the edge,
# large enough that the tile summaries are cheap. 1280x720 takes 16, 1920x1080 24, and the half-size
# work frames 960x540 and 640x360 take 20.
_TILE_SIDES_PX = (16, 24, 20, 12, 8)
# Gathering a tile costs about four times blending it in place: above this share of the box's
# area in mixed tiles, the whole box is blended instead.
_MOST_MIXED_SHARE = 0.25


def tile_side_px(height_px: int, width_px: int) -> int | None:
    """The side of the square tiles that divide the frame exactly, or None if none does."""
    for side in _TILE_SIDES_PX:
        if height_px % side == 0 and width_px % side == 0:
            return side
    return None


def on_tiles(region: tuple[slice, slice], side: int) -> tuple[slice, slice]:
    """A (start, stop) region grown outwards to whole tiles of a frame that `side` divides."""
    rows, cols = region
    return (slice(rows.start // side * side, -(-rows.stop // side) * side),
            slice(cols.start // side * side, -(-cols.stop // side) * side))


class AlphaTiles:
    """A weight map cut into side x side tiles, and the tiles a blend by it must work on: by
    default those whose weights are mixed (not all 0 and not all 255); with `any_above_zero`,
    every tile with a weight above 0."""

    def __init__(self, weights_u8: np.ndarray, side: int, any_above_zero: bool = False) -> None:
        height_px, width_px = weights_u8.shape
        self.side = side
        self.shape = (height_px // side, width_px // side)
        rows_of_tiles = weights_u8.reshape(self.shape[0], side, width_px)
        by_tile = (self.shape[0], self.shape[1], side)
        self.most = rows_of_tiles.max(axis=1).reshape(by_tile).max(axis=2)
        chosen = self.most > 0
        if not any_above_zero:
            chosen &= rows_of_tiles.min(axis=1).reshape(by_tile).min(axis=2) < 255
        self._chosen = np.nonzero(chosen)
        self.count = int(self._chosen[0].size)

    def person_box(self) -> tuple[slice, slice]:
        """Rows and columns, in pixels, of the tiles that hold any alpha above 0 (may be empty)."""
        rows = np.flatnonzero(self.most.any(axis=1))
        if rows.size == 0:
            return slice(0, 0), slice(0, 0)
        cols = np.flatnonzero(self.most.any(axis=0))
        side = self.side
        return (slice(int(rows[0]) * side, (int(rows[-1]) + 1) * side),
                slice(int(cols[0]) * side, (int(cols[-1]) + 1) * side))

    def _tiled(self, image: np.ndarray) -> np.ndarray:
        """A view of an image the weights' size as (tile row, y, tile column, x, ...)."""
        side = self.side
        return image.reshape(self.shape[0], side, self.shape[1], side, *image.shape[2:])

    def gather(self, image: np.ndarray) -> np.ndarray:
        """The chosen tiles of an image the weights' size, as a new (count, side, side, ...)."""
        rows, cols = self._chosen
        return self._tiled(image)[rows, :, cols]

    def scatter(self, tiles: np.ndarray, image: np.ndarray) -> None:
        """Write gathered (count, side, side, ...) tiles back into an image the weights' size."""
        rows, cols = self._chosen
        self._tiled(image)[rows, :, cols] = tiles


class PackedTiles:
    """The chosen tiles of two pictures and their weights, gathered into (count * side, side)
    arrays for one blend, then put back."""

    def __init__(self) -> None:
        self._packed: tuple[AlphaTiles, np.ndarray, np.ndarray, np.ndarray] | None = None

    def pack(self, tiles: AlphaTiles, first_bgr: np.ndarray, second_bgr: np.ndarray,
             first_weight_u8: np.ndarray) -> None:
        """Copy the chosen tiles out of the three images (each the size `tiles` was cut from)."""
        if not tiles.count:
            self._packed = None
            return
        flat = (tiles.count * tiles.side, tiles.side)
        self._packed = (tiles, tiles.gather(first_bgr).reshape(*flat, 3),
                        tiles.gather(second_bgr).reshape(*flat, 3),
                        tiles.gather(first_weight_u8).reshape(flat))

    def blend_into(self, bytes_blender: ByteBlender, out: np.ndarray) -> None:
        """Blend the packed tiles and write them into `out` (the size the tiles were cut from)."""
        if self._packed is None:
            return
        tiles, first, second, weights = self._packed
        self._packed = None
        bytes_blender.blend(first, second, weights, (slice(None), slice(None)), first)
        tiles.scatter(first.reshape(tiles.count, tiles.side, tiles.side, 3), out)


def person_region(alpha_u8: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns of the smallest box holding every pixel with alpha > 0 (empty if none)."""
    x, y, width_px, height_px = cv2.boundingRect(alpha_u8)
    return slice(y, y + height_px), slice(x, x + width_px)


def strips_around(rows: slice, cols: slice) -> list[tuple[slice, slice]]:
    """The parts of the frame outside the box rows x cols (an empty box leaves the whole frame)."""
    if rows.stop <= rows.start or cols.stop <= cols.start:
        return [(slice(None), slice(None))]
    return [
        (slice(None, rows.start), slice(None)),
        (slice(rows.stop, None), slice(None)),
        (rows, slice(None, cols.start)),
        (rows, slice(cols.stop, None)),
    ]


def composite(
    frame_bgr: np.ndarray,
    alpha: np.ndarray,
    background_bgr: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Return frame * alpha + background * (1 - alpha); alpha is uint8 (H, W) 0..255 or float32
    in [0, 1]."""
    return Blender().composite(frame_bgr, alpha, background_bgr, out)
