"""The Compositor: every effect changes the background and never the person."""

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from compositing.backgrounds import BackgroundError, ImageBackground
from compositing.compositor import Compositor
from compositing.files import FileBackground, load_background
from tests.scenes import soft_person_scene


@pytest.fixture
def compositor() -> Iterator[Compositor]:
    compositor = Compositor()
    yield compositor
    compositor.close()


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """A textured frame with a person block (alpha 1) in the middle and a soft edge column."""
    rng = np.random.default_rng(5)
    frame_bgr = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    alpha = np.zeros((180, 320), np.float32)
    alpha[30:150, 100:220] = 1.0
    alpha[30:150, 99] = 0.5
    return frame_bgr, alpha


def _person_core(alpha: np.ndarray) -> np.ndarray:
    """Person pixels far enough from the edge that light wrap may not touch them."""
    core = np.zeros_like(alpha, dtype=bool)
    core[50:130, 120:200] = True
    return core


def _write_png(path: Path, color_bgr: tuple[int, int, int]) -> ImageBackground:
    """A loaded image background of one colour (loading is the caller's job, not configure's)."""
    image = np.zeros((90, 160, 3), np.uint8)
    image[:] = color_bgr
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    path.write_bytes(encoded.tobytes())
    return ImageBackground(str(path))


def _write_video(path: Path) -> str:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (64, 48))
    for index in range(3):
        writer.write(np.full((48, 64, 3), 60 + index * 60, np.uint8))
    writer.release()
    return str(path)


def test_none_returns_the_frame_unchanged(compositor: Compositor) -> None:
    frame_bgr, alpha = _scene()
    compositor.configure("none")
    assert compositor.apply(frame_bgr, alpha) is frame_bgr


def test_blur_blurs_the_background_only(compositor: Compositor) -> None:
    frame_bgr, alpha = _scene()
    compositor.configure("blur", blur_strength=70)
    output = compositor.apply(frame_bgr, alpha)
    person = alpha == 1.0
    np.testing.assert_array_equal(output[person], frame_bgr[person])
    background = alpha == 0.0
    assert output[background].std() < frame_bgr[background].std() / 3


def test_blur_strength_zero_is_a_no_op(compositor: Compositor) -> None:
    frame_bgr, alpha = _scene()
    compositor.configure("blur", blur_strength=0)
    np.testing.assert_array_equal(compositor.apply(frame_bgr, alpha), frame_bgr)


@pytest.mark.parametrize("light_wrap", [0.0, 0.7])
def test_colour_replaces_the_background(compositor: Compositor, light_wrap: float) -> None:
    frame_bgr, alpha = _scene()
    compositor.configure("color", color_rgb=(255, 128, 0), light_wrap=light_wrap)
    output = compositor.apply(frame_bgr, alpha)
    assert np.all(output[alpha == 0.0] == (0, 128, 255))
    core = _person_core(alpha)
    np.testing.assert_array_equal(output[core], frame_bgr[core])


def test_light_wrap_touches_the_person_edge(compositor: Compositor) -> None:
    frame_bgr, alpha = _scene()
    compositor.configure("color", color_rgb=(255, 128, 0), light_wrap=0.0)
    plain = compositor.apply(frame_bgr, alpha).copy()
    compositor.configure("color", color_rgb=(255, 128, 0), light_wrap=1.0)
    wrapped = compositor.apply(frame_bgr, alpha)
    assert np.any(wrapped[30:150, 100:103] != plain[30:150, 100:103])


@pytest.mark.parametrize("light_wrap", [0.0, 0.5])
def test_image_replaces_the_background(
    compositor: Compositor, tmp_path: Path, light_wrap: float
) -> None:
    frame_bgr, alpha = _scene()
    compositor.configure(
        "image",
        background=_write_png(tmp_path / "bg.png", (10, 200, 30)),
        light_wrap=light_wrap,
    )
    output = compositor.apply(frame_bgr, alpha)
    assert np.all(output[alpha == 0.0] == (10, 200, 30))
    core = _person_core(alpha)
    np.testing.assert_array_equal(output[core], frame_bgr[core])


def test_video_replaces_the_background_with_moving_frames(
    compositor: Compositor, tmp_path: Path
) -> None:
    frame_bgr, alpha = _scene()
    video = load_background(_write_video(tmp_path / "bg.mp4"), "video")
    compositor.configure("video", background=video, light_wrap=0.5)
    first = compositor.apply(frame_bgr, alpha, at_s=0.0)
    assert video.wait_until_decoded(0.1, timeout_s=10.0)  # the 10 fps video's second frame
    second = compositor.apply(frame_bgr, alpha, at_s=0.1)
    background = alpha == 0.0
    assert second[background].mean() > first[background].mean() + 30
    core = _person_core(alpha)
    np.testing.assert_array_equal(first[core], frame_bgr[core])
    np.testing.assert_array_equal(second[core], frame_bgr[core])


def test_a_refused_configuration_keeps_the_previous_one(
    compositor: Compositor, tmp_path: Path
) -> None:
    frame_bgr, alpha = _scene()
    compositor.configure("image", background=_write_png(tmp_path / "good.png", (1, 2, 3)))
    other = _write_png(tmp_path / "other.png", (9, 9, 9))
    with pytest.raises(ValueError, match="light wrap"):
        compositor.configure("image", background=other, light_wrap=1.5)
    assert compositor.config.background_path == str(tmp_path / "good.png")
    assert compositor.config.light_wrap == 0.0
    output = compositor.apply(frame_bgr, alpha)
    assert np.all(output[alpha == 0.0] == (1, 2, 3))


def test_file_effect_without_a_file_explains(compositor: Compositor) -> None:
    with pytest.raises(BackgroundError, match="choose one"):
        compositor.configure("image", background=None)
    assert compositor.config.effect == "none"


def test_unknown_effect_is_rejected(compositor: Compositor) -> None:
    with pytest.raises(ValueError, match="unknown effect 'sparkles'"):
        compositor.configure("sparkles")


def test_output_is_a_new_array_each_frame(compositor: Compositor) -> None:
    frame_bgr, alpha = _scene()
    compositor.configure("color", color_rgb=(0, 0, 0))
    first = compositor.apply(frame_bgr, alpha)
    kept = first.copy()
    compositor.apply(np.zeros_like(frame_bgr), alpha)
    np.testing.assert_array_equal(first, kept)


def test_soft_alpha_uses_the_configured_edge_softness(compositor: Compositor) -> None:
    mask = np.tile(np.linspace(0.0, 1.0, 32, dtype=np.float32), (8, 1))
    compositor.configure("none", edge_softness=0.0)
    hard = compositor.soft_alpha(mask, 320, 80)
    compositor.configure("none", edge_softness=1.0)
    soft = compositor.soft_alpha(mask, 320, 80)
    assert np.count_nonzero((soft > 0) & (soft < 1)) > np.count_nonzero((hard > 0) & (hard < 1))


@pytest.mark.parametrize("effect", ["blur", "image", "color"])
def test_a_uint8_alpha_gives_the_float_alphas_picture(
    compositor: Compositor, effect: str, tmp_path: Path
) -> None:
    # The engine hands the compositor 8-bit alphas; tests and callers may pass float ones.
    frame_bgr, alpha = _scene()
    alpha[30:150, 98] = 0.2  # a second soft column, so mixed pixels are compared too
    wall = _write_png(tmp_path / "wall.png", (40, 90, 200)) if effect == "image" else None
    compositor.configure(effect, background=wall, light_wrap=0.3)
    from_float = compositor.apply(frame_bgr, alpha).copy()
    from_bytes = compositor.apply(frame_bgr, np.round(alpha * 255.0).astype(np.uint8))
    assert np.abs(from_float.astype(int) - from_bytes).max() == 0


@pytest.mark.parametrize(("height_px", "width_px"), [(720, 1280), (1080, 1920)])
@pytest.mark.parametrize(
    ("effect", "style", "light_wrap"),
    [("blur", "flat", 0.0), ("blur", "portrait", 0.0), ("image", "flat", 0.5),
     ("color", "flat", 0.5), ("video", "flat", 0.5)],
)
def test_a_region_of_the_output_is_that_part_of_the_whole_output(
    tmp_path: Path, height_px: int, width_px: int, effect: str, style: str, light_wrap: float
) -> None:
    """Auto-framing asks for its crop only: it must show exactly what the whole picture has
    there, the soft edge, the light wrap and the blur included, at the default sizes."""
    frame_bgr, wall_bgr, person = soft_person_scene(height_px, width_px, seed=3)
    alpha = np.round(person * 255.0).astype(np.uint8)
    side = 16 if height_px == 720 else 24
    regions = [(slice(6 * side, 24 * side), slice(15 * side, 66 * side)),  # a framing crop
               (slice(0, 8 * side), slice(width_px - 10 * side, width_px))]  # at a corner
    outputs = []
    for region in (None, *regions):
        compositor = Compositor()
        background: FileBackground | None = None
        if effect == "image":
            path = tmp_path / "wall.png"
            cv2.imwrite(str(path), wall_bgr)
            background = load_background(str(path), "image")
        elif effect == "video":
            background = load_background(_write_video(tmp_path / "bg.mp4"), "video")
        compositor.configure(effect, background=background, light_wrap=light_wrap,
                             blur_style=style)
        outputs.append(compositor.apply(frame_bgr, alpha, at_s=0.0, region=region).copy())
        compositor.close()
    whole = outputs[0]
    for region, part in zip(regions, outputs[1:], strict=True):
        np.testing.assert_array_equal(part[region], whole[region])
