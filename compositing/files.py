"""Opening a background file as an image or a video: the slow part of choosing a background.

Decoding a phone photo takes hundreds of milliseconds, so callers run `load_background` on a
helper thread and hand the finished background to `Compositor.configure`.
"""

from __future__ import annotations

import os

from compositing.backgrounds import (
    VIDEO_EXTENSIONS,
    BackgroundError,
    ColorBackground,
    ImageBackground,
)
from compositing.video import VideoBackground

FileBackground = ImageBackground | VideoBackground
Background = ImageBackground | ColorBackground | VideoBackground

_IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".webp", ".tif", ".tiff"})
# Files bigger than this are not tried as images (a long video would be read into memory whole).
_MAX_IMAGE_FILE_BYTES = 256 * 1024 * 1024


def load_background(path: str, kind: str | None = None) -> FileBackground:
    """Open `path` as the `kind` of background ('image' or 'video'), or, with no kind, as
    whichever it is: by extension, then by content. Raises BackgroundError naming the file."""
    path = str(path)
    if kind == "image":
        return ImageBackground(path)
    if kind == "video":
        return VideoBackground(path)
    if kind is not None:
        raise ValueError(f"a background file is an 'image' or a 'video', not {kind!r}")
    extension = os.path.splitext(path)[1].lower()
    if extension in VIDEO_EXTENSIONS:
        return VideoBackground(path)
    if extension in _IMAGE_EXTENSIONS or not os.path.isfile(path) or os.path.getsize(path) == 0:
        return ImageBackground(path)  # raises with the precise reason if it cannot be read
    if os.path.getsize(path) <= _MAX_IMAGE_FILE_BYTES:
        try:
            return ImageBackground(path)
        except BackgroundError:
            pass
    try:
        return VideoBackground(path)
    except BackgroundError:
        raise BackgroundError(
            f"cannot read background '{path}': it is neither an image nor a video that can be "
            "decoded. Choose a PNG or JPEG image, or an MP4 video."
        ) from None
