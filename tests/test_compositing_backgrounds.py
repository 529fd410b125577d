"""Backgrounds: images decode the way a viewer shows them, fill the frame, and fail clearly."""

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from compositing.backgrounds import (
    MAX_IMAGE_SIDE_PX,
    BackgroundError,
    ColorBackground,
    ImageBackground,
    cover_fit,
)
from compositing.files import load_background
from compositing.video import VideoBackground


def _write_image(path: Path, image: np.ndarray) -> Path:
    ok, encoded = cv2.imencode(path.suffix, image)
    assert ok
    path.write_bytes(encoded.tobytes())
    return path


def _circle_image(width: int, height: int) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    cv2.circle(image, (width // 2, height // 2), min(width, height) // 4, (255, 255, 255), -1)
    return image


def _extent(mask: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


@pytest.mark.parametrize(
    ("source_size", "output_size"),
    [((800, 200), (320, 240)), ((200, 600), (320, 180)), ((300, 300), (640, 360))],
)
def test_cover_fit_fills_the_frame_and_keeps_circles_round(
    tmp_path: Path, source_size: tuple[int, int], output_size: tuple[int, int]
) -> None:
    path = _write_image(tmp_path / "circle.png", _circle_image(*source_size))
    frame_bgr = ImageBackground(str(path)).frame(*output_size)
    assert frame_bgr.shape == (output_size[1], output_size[0], 3)
    circle_height, circle_width = _extent(frame_bgr[:, :, 0] > 127)
    assert abs(circle_height - circle_width) <= 2, "a circle must stay a circle (no stretching)"


def test_cover_fit_crops_the_centre_of_a_wide_image() -> None:
    image = np.zeros((100, 400, 3), np.uint8)
    image[:, :100] = (255, 0, 0)  # blue left quarter, cut away when fitted to a square
    image[:, 100:300] = (0, 255, 0)
    frame_bgr = cover_fit(image, 50, 50)
    assert frame_bgr.shape == (50, 50, 3)
    assert np.all(frame_bgr[:, :, 1] == 255) and np.all(frame_bgr[:, :, 0] == 0)


def test_image_frames_are_cached_and_read_only(tmp_path: Path) -> None:
    background = ImageBackground(str(_write_image(tmp_path / "c.png", _circle_image(64, 48))))
    first = background.frame(32, 24)
    assert background.frame(32, 24) is first
    assert not first.flags.writeable


def test_colour_background_is_that_colour_in_bgr_order() -> None:
    frame_bgr = ColorBackground((200, 100, 10)).frame(64, 48)
    assert frame_bgr.shape == (48, 64, 3)
    assert np.all(frame_bgr == np.array([10, 100, 200], np.uint8))


def test_colour_background_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="three integers"):
        ColorBackground((300, 0, 0))


def test_grayscale_and_transparent_png_load_as_bgr(tmp_path: Path) -> None:
    gray = _write_image(tmp_path / "gray.png", np.full((20, 30), 90, np.uint8))
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[:, :15] = (0, 0, 255, 255)  # opaque red left half
    transparent = _write_image(tmp_path / "rgba.png", rgba)  # right half fully transparent
    gray_frame = ImageBackground(str(gray)).frame(30, 20)
    rgba_frame = ImageBackground(str(transparent)).frame(30, 20)
    assert gray_frame.shape == rgba_frame.shape == (20, 30, 3)
    assert np.all(gray_frame == 90)
    assert tuple(rgba_frame[10, 2]) == (0, 0, 255)
    assert tuple(rgba_frame[10, 28]) == (255, 255, 255), "transparency shows as white"


def _jpeg_with_exif_orientation(image: np.ndarray, orientation: int) -> bytes:
    """A JPEG with a hand-made APP1 EXIF segment holding only the Orientation tag."""
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    entry = struct.pack(">HHI", 0x0112, 3, 1) + struct.pack(">HH", orientation, 0)
    ifd = struct.pack(">H", 1) + entry + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + b"MM" + struct.pack(">HI", 42, 8) + ifd
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    jpeg = encoded.tobytes()
    return jpeg[:2] + app1 + jpeg[2:]


def test_exif_rotated_jpeg_shows_upright(tmp_path: Path) -> None:
    stored = np.zeros((40, 80, 3), np.uint8)
    stored[:, :40] = 255  # white left half as stored; orientation 6 means rotate 90° clockwise
    path = tmp_path / "phone.jpg"
    path.write_bytes(_jpeg_with_exif_orientation(stored, 6))
    background = ImageBackground(str(path))
    assert background.size == (40, 80)
    upright = background.frame(40, 80)
    assert upright[:40].mean() > 200 and upright[40:].mean() < 50, "white half ends up on top"


def test_huge_image_is_downscaled_after_decoding(tmp_path: Path) -> None:
    path = _write_image(tmp_path / "wide.png", np.zeros((100, MAX_IMAGE_SIDE_PX * 2, 3), np.uint8))
    assert ImageBackground(str(path)).size == (MAX_IMAGE_SIDE_PX, 50)


def test_non_ascii_path_loads(tmp_path: Path) -> None:
    path = _write_image(tmp_path / "Hintergrund_Büro_背景.png", _circle_image(40, 30))
    assert ImageBackground(str(path)).frame(40, 30).shape == (30, 40, 3)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.jpg", b"", "empty"),
        ("noise.png", np.random.default_rng(0).bytes(5000), "not an image file"),
        ("missing.png", None, "not found"),
    ],
)
def test_bad_image_files_raise_an_error_naming_the_file(
    tmp_path: Path, name: str, content: bytes | None, reason: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BackgroundError, match=reason) as raised:
        ImageBackground(str(path))
    assert name in str(raised.value)
    with pytest.raises(BackgroundError, match=name):
        load_background(str(path))


def _write_video(path: Path, frame_count: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (64, 48))
    assert writer.isOpened()
    for index in range(frame_count):
        writer.write(np.full((48, 64, 3), index * 50, np.uint8))
    writer.release()
    return path


def test_video_background_is_cover_fitted(tmp_path: Path) -> None:
    background = VideoBackground(str(_write_video(tmp_path / "clip.mp4", 2)))
    assert background.frame(100, 100, at_s=0.0).shape == (100, 100, 3)
    assert background.wait_until_decoded(0.1, timeout_s=10.0)
    assert background.frame(100, 60, at_s=0.1).shape == (60, 100, 3)
    background.close()


@pytest.mark.parametrize("name", ["nothing.mp4", "noise.mp4", "gone.mp4"])
def test_unreadable_video_raises_an_error_naming_the_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name == "nothing.mp4":
        _write_video(path, 0)
    elif name == "noise.mp4":
        path.write_bytes(np.random.default_rng(1).bytes(4000))
    with pytest.raises(BackgroundError, match=name):
        VideoBackground(str(path))
    with pytest.raises(BackgroundError, match=name):
        load_background(str(path))


def test_load_background_chooses_by_content(tmp_path: Path) -> None:
    image_path = tmp_path / "picture.background"
    image_path.write_bytes(_write_image(tmp_path / "p.png", _circle_image(40, 30)).read_bytes())
    video_path = tmp_path / "movie.background"
    video_path.write_bytes(_write_video(tmp_path / "m.mp4", 3).read_bytes())
    assert isinstance(load_background(str(image_path)), ImageBackground)
    video = load_background(str(video_path))
    assert isinstance(video, VideoBackground)
    video.close()


def test_load_background_opens_the_kind_the_effect_asks_for(tmp_path: Path) -> None:
    # The names say neither: the effect's kind decides.
    image_path = tmp_path / "picture.background"
    image_path.write_bytes(_write_image(tmp_path / "p.png", _circle_image(40, 30)).read_bytes())
    video_path = tmp_path / "movie.background"
    video_path.write_bytes(_write_video(tmp_path / "m.mp4", 3).read_bytes())
    assert isinstance(load_background(str(image_path), "image"), ImageBackground)
    video = load_background(str(video_path), "video")
    assert isinstance(video, VideoBackground)
    video.close()
    with pytest.raises(BackgroundError, match="movie.background"):
        load_background(str(video_path), "image")
