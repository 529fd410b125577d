"""Replacement backgrounds: still images and a solid colour, cover-fitted; the shared helpers
the video background (`compositing.video`) uses too."""

from __future__ import annotations

import os
import struct
from collections import OrderedDict

import cv2
import numpy as np

# Longest side kept after decoding, so an 8000x8000 photo does not pin 200 MB for the session.
MAX_IMAGE_SIDE_PX = 3840
# Images whose header promises more pixels than this are refused before decoding (a 100 MP
# decode takes 300 MB); large JPEGs are decoded at 1/2, 1/4 or 1/8 size and count as that.
MAX_DECODED_PIXELS = 100_000_000
_JPEG_SOI = b"\xff\xd8"
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE_MARKERS = frozenset(range(0xD0, 0xDA)) | {0x01}
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".mpg"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CACHED_SIZES = 4
_IMAGE_HINT = "Choose a PNG or JPEG."
VIDEO_HINT = "Choose an MP4, MOV, MKV, WEBM or AVI video."


class BackgroundError(Exception):
    """A background cannot be used; the message names the file and says what to do."""


def cover_fit(image_bgr: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
    """Scale to fill width_px x height_px, centre-cropping the excess; never stretches."""
    cropped = cover_crop(image_bgr, width_px, height_px)
    shrinking = cropped.shape[1] > width_px
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(cropped, (width_px, height_px), interpolation=interpolation)


def cover_crop(image_bgr: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
    """The centre of `image_bgr` with the aspect of width_px x height_px (a view): what a
    cover fit scales."""
    if width_px <= 0 or height_px <= 0:
        raise ValueError(f"output size must be positive, got {width_px}x{height_px}")
    source_height, source_width = image_bgr.shape[:2]
    if source_width * height_px > width_px * source_height:  # source is wider: crop the sides
        crop_width = max(1, round(source_height * width_px / height_px))
        left = (source_width - crop_width) // 2
        return image_bgr[:, left : left + crop_width]
    crop_height = max(1, round(source_width * height_px / width_px))  # taller: top and bottom
    top = (source_height - crop_height) // 2
    return image_bgr[top : top + crop_height]


def read_only(image: np.ndarray) -> np.ndarray:
    """Mark a cached array read-only so no caller can change what later frames get."""
    image.flags.writeable = False
    return image


class _SizeCache:
    """The last few cover-fitted frames, keyed by output size."""

    def __init__(self) -> None:
        self._frames: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()

    def get(self, size: tuple[int, int]) -> np.ndarray | None:
        frame = self._frames.get(size)
        if frame is not None:
            self._frames.move_to_end(size)
        return frame

    def put(self, size: tuple[int, int], frame: np.ndarray) -> np.ndarray:
        self._frames[size] = read_only(frame)
        while len(self._frames) > _CACHED_SIZES:
            self._frames.popitem(last=False)
        return frame


def _read_file_bytes(path: str, kind: str, hint: str) -> np.ndarray:
    """Read a whole file as uint8 (np.fromfile copes with non-ASCII paths on every platform)."""
    if os.path.isdir(path):
        raise BackgroundError(f"cannot read background {kind} '{path}': it is a folder. {hint}")
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise BackgroundError(f"cannot read background {kind} '{path}': file not found.") from None
    except OSError as error:
        raise BackgroundError(
            f"cannot read background {kind} '{path}': {error.strerror or error}."
        ) from None
    if data.size == 0:
        raise BackgroundError(f"cannot read background {kind} '{path}': the file is empty. {hint}")
    return data


def to_bgr_u8(image: np.ndarray) -> np.ndarray:
    """Convert a decoded image of any depth and channel count to uint8 BGR."""
    if image.dtype == np.uint16:  # 16-bit PNG
        image = (image >> 8).astype(np.uint8)
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:  # flatten transparency over white, as an image viewer shows it
        color = image[:, :, :3].astype(np.float32)
        opacity = image[:, :, 3:].astype(np.float32) / 255.0
        return (color * opacity + 255.0 * (1.0 - opacity) + 0.5).astype(np.uint8)
    return image


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's start-of-frame segment, or None if there is none."""
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
        elif marker in _JPEG_STANDALONE_MARKERS:
            position += 2
        elif marker in _JPEG_SOF_MARKERS:
            height_px, width_px = struct.unpack(">HH", data[position + 5 : position + 9])
            return width_px, height_px
        else:
            position += 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
    return None


def encoded_size(data: np.ndarray) -> tuple[int, int] | None:
    """(width, height) a PNG or JPEG header declares, without decoding; None for others."""
    head = data[:24].tobytes()
    if head.startswith(_PNG_SIGNATURE) and len(head) == 24 and head[12:16] == b"IHDR":
        width_px, height_px = struct.unpack(">II", head[16:24])
        return width_px, height_px
    if head.startswith(_JPEG_SOI):
        return _jpeg_size(data[: 1 << 20].tobytes())  # the frame header comes early
    return None


def _jpeg_reduction(size: tuple[int, int] | None) -> int:
    """1, 2, 4 or 8: how much smaller libjpeg may decode while staying above the kept size."""
    longest_px = max(size) if size else 0
    factor = 1
    while factor < 8 and longest_px // (factor * 2) >= MAX_IMAGE_SIDE_PX:
        factor *= 2
    return factor


_REDUCED_COLOR = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
                  4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def decode_image(data: np.ndarray) -> np.ndarray | None:
    """Decode encoded image bytes to uint8 BGR, EXIF orientation applied; None if not an image.

    Raises BackgroundTooLarge when the header declares more than MAX_DECODED_PIXELS.
    """
    size = encoded_size(data)
    reduction = _jpeg_reduction(size) if data[:2].tobytes() == _JPEG_SOI else 1
    if size is not None and size[0] * size[1] // (reduction * reduction) > MAX_DECODED_PIXELS:
        raise BackgroundTooLarge(size)
    if data[: len(_PNG_SIGNATURE)].tobytes() == _PNG_SIGNATURE:
        # PNGs keep their transparency (flattened below); they rarely carry EXIF orientation.
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    else:
        decoded = cv2.imdecode(data, _REDUCED_COLOR[reduction])  # applies EXIF orientation
    if decoded is None or decoded.size == 0:
        return None
    return to_bgr_u8(decoded)


class BackgroundTooLarge(Exception):
    """An image header declares more pixels than Backdrop decodes."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__(f"{size[0]}x{size[1]}")
        self.size = size


def _limit_size(image_bgr: np.ndarray) -> np.ndarray:
    """Downscale so the longest side is at most MAX_IMAGE_SIDE_PX."""
    height_px, width_px = image_bgr.shape[:2]
    longest_px = max(height_px, width_px)
    if longest_px <= MAX_IMAGE_SIDE_PX:
        return image_bgr
    scale = MAX_IMAGE_SIDE_PX / longest_px
    size = (max(1, round(width_px * scale)), max(1, round(height_px * scale)))
    return cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)


class ImageBackground:
    """A still image, decoded once and cover-fitted once per output size."""

    def __init__(self, path: str) -> None:
        self.path = str(path)
        data = _read_file_bytes(self.path, "image", _IMAGE_HINT)
        try:
            image_bgr = decode_image(data)
        except cv2.error:
            image_bgr = None
        except BackgroundTooLarge as error:
            raise BackgroundError(
                f"cannot use background image '{self.path}': it is {error} pixels, more than "
                f"the {MAX_DECODED_PIXELS // 1_000_000} megapixels Backdrop decodes. Save a "
                f"smaller copy (at most {MAX_IMAGE_SIDE_PX} pixels wide is plenty)."
            ) from None
        if image_bgr is None:
            raise BackgroundError(
                f"cannot read background image '{self.path}': not an image file "
                f"(or it is corrupt). {_IMAGE_HINT}"
            )
        self._image_bgr = read_only(np.ascontiguousarray(_limit_size(image_bgr)))
        self._cache = _SizeCache()

    @property
    def size(self) -> tuple[int, int]:
        """(width_px, height_px) of the decoded image after the size limit."""
        return self._image_bgr.shape[1], self._image_bgr.shape[0]

    def frame(self, width_px: int, height_px: int, at_s: float = 0.0) -> np.ndarray:
        """The background at this size (read-only; the same array every call, at any time)."""
        cached = self._cache.get((width_px, height_px))
        if cached is not None:
            return cached
        return self._cache.put(
            (width_px, height_px), cover_fit(self._image_bgr, width_px, height_px)
        )

    def close(self) -> None:
        """Nothing to release; present so every background can be closed alike."""


class ColorBackground:
    """A solid colour given as (red, green, blue) 0..255; frames come out in BGR order."""

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        if len(rgb) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in rgb):
            raise ValueError(f"colour must be three integers 0..255 (red, green, blue), got {rgb}")
        self.rgb = (int(rgb[0]), int(rgb[1]), int(rgb[2]))
        self._cache = _SizeCache()

    def frame(self, width_px: int, height_px: int, at_s: float = 0.0) -> np.ndarray:
        """A read-only frame of the colour at this size (at any time)."""
        cached = self._cache.get((width_px, height_px))
        if cached is not None:
            return cached
        red, green, blue = self.rgb
        plate = np.empty((height_px, width_px, 3), np.uint8)
        plate[:] = (blue, green, red)
        return self._cache.put((width_px, height_px), plate)

    def close(self) -> None:
        """Nothing to release; present so every background can be closed alike."""
