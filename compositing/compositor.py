"""The compositing stage: one object that turns (frame, alpha) into the output frame."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from compositing.alpha import soft_alpha
from compositing.backgrounds import BackgroundError, ColorBackground
from compositing.blend import Blender, ByteBlender, alpha_bytes, check_alpha
from compositing.blur import BLUR_STYLES, BackgroundBlur
from compositing.files import Background, FileBackground
from compositing.lightwrap import LightWrap
from compositing.video import VideoBackground

EFFECTS = ("none", "blur", "image", "color", "video")
_WHOLE = (slice(None), slice(None))


@dataclass(frozen=True)
class CompositorConfig:
    """What the compositor does; validated on construction."""

    effect: str = "none"
    blur_strength: int = 50
    color_rgb: tuple[int, int, int] = (0, 177, 64)
    background_path: str | None = None
    light_wrap: float = 0.0
    edge_softness: float = 0.5
    blur_style: str = "flat"

    def __post_init__(self) -> None:
        if self.blur_style not in BLUR_STYLES:
            raise ValueError(f"unknown blur style {self.blur_style!r}; choose one of "
                             + ", ".join(BLUR_STYLES))
        if self.effect not in EFFECTS:
            raise ValueError(f"unknown effect {self.effect!r}; choose one of {', '.join(EFFECTS)}")
        if not 0 <= self.blur_strength <= 100:
            raise ValueError(f"blur strength must be between 0 and 100, got {self.blur_strength}")
        if not 0.0 <= self.light_wrap <= 1.0:
            raise ValueError(f"light wrap must be between 0 and 1, got {self.light_wrap}")
        if not 0.0 <= self.edge_softness <= 1.0:
            raise ValueError(f"edge softness must be between 0 and 1, got {self.edge_softness}")


class Compositor:
    """Blurs or replaces the background of frames; configure() changes what it does, live.

    Not thread-safe: configure() and apply() must be called from the same thread.
    `messages` collects news for the user (a background that went bad while in use, and when
    it recovers); the caller drains it.
    """

    def __init__(self) -> None:
        self._config = CompositorConfig()
        self._background: Background | None = None
        shared = ByteBlender()  # one set of blending buffers: the blend and the wrap take turns
        self._blender = Blender(shared)
        self._blur = BackgroundBlur()
        self._light_wrap = LightWrap(shared)
        self.messages: list[str] = []
        self._reported_problem: str | None = None

    @property
    def config(self) -> CompositorConfig:
        """The configuration in force."""
        return self._config

    @property
    def background(self) -> FileBackground | None:
        """The image or video in use (None for the other effects)."""
        current = self._background
        return None if current is None or isinstance(current, ColorBackground) else current

    def configure(
        self,
        effect: str,
        blur_strength: int = 50,
        color_rgb: tuple[int, int, int] = (0, 177, 64),
        background: FileBackground | None = None,
        light_wrap: float = 0.0,
        edge_softness: float = 0.5,
        blur_style: str = "flat",
    ) -> None:
        """Switch effect and parameters; all or nothing, and it never reads a file.

        The image and video effects take a loaded `background` (`compositing.files`), which
        the compositor then owns and closes when it is replaced. Raises ValueError for
        out-of-range values and BackgroundError for a file effect without a file; either way
        the previous configuration and background stay in force (and the caller keeps
        `background`).
        """
        red, green, blue = color_rgb
        path = background.path if background is not None else None
        config = CompositorConfig(
            effect, blur_strength, (red, green, blue), path, light_wrap, edge_softness,
            blur_style,
        )
        if config.effect in ("image", "video") and background is None:
            raise BackgroundError(f"the {config.effect} effect needs a file: choose one first.")
        if config.effect not in ("image", "video") and background is not None:
            raise ValueError(f"the {config.effect} effect takes no background file")
        chosen = background if background is not None else self._plain_background(config)
        if chosen is not self._background and self._background is not None:
            self._background.close()
            self._reported_problem = None
        self._background = chosen
        self._config = config

    def _plain_background(self, config: CompositorConfig) -> ColorBackground | None:
        """The colour plate for the colour effect (the current one while the colour stays)."""
        if config.effect != "color":
            return None
        current = self._background
        if isinstance(current, ColorBackground) and current.rgb == config.color_rgb:
            return current  # keeps its cached plate (and the light wrap's)
        return ColorBackground(config.color_rgb)

    def soft_alpha(self, mask_lowres: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
        """Upsample a model mask to frame size with the configured edge softness."""
        return soft_alpha(mask_lowres, width_px, height_px, self._config.edge_softness)

    def apply(
        self, frame_bgr: np.ndarray, alpha: np.ndarray, at_s: float | None = None,
        region: tuple[slice, slice] | None = None, frame_halves: Sequence[np.ndarray] = (),
    ) -> np.ndarray:
        """Return the output frame; alpha is (H, W), uint8 0..255 (what the engine's chain
        gives) or float32 in [0, 1], with the maximum meaning person. `at_s` is the frame's
        time (its capture time; now when not given): a video background plays by it.

        'none' (and blur strength 0) returns frame_bgr itself; otherwise a new array each call,
        so a consumer on another thread may keep it. `region` (whole tiles of the frame, see
        `compositing.blend.on_tiles`) says only that part is wanted, as auto-framing's crop:
        it is the same as in the whole output, and the rest of the array is left undefined.
        `frame_halves` is the frame halved once, twice, ... by 2x area averaging, when the
        caller made it already (the blur starts from it).
        """
        check_alpha(frame_bgr, alpha)
        alpha = alpha_bytes(alpha)  # once, for every stage below
        config = self._config
        if config.effect == "none":
            return frame_bgr
        if config.effect == "blur":
            if config.blur_strength == 0:
                return frame_bgr
            # The plate is a new array each frame and the person is blended into it in place:
            # outside the person's box it already is the output, so nothing is copied there.
            plate = self._blur.apply(frame_bgr, alpha, config.blur_strength, region=region,
                                     style=config.blur_style, frame_halves=frame_halves)
            rows, cols = region or _WHOLE
            seen = plate[rows, cols]  # one view: the blend sees that it writes into the plate
            self._blender.composite(frame_bgr[rows, cols], alpha[rows, cols], seen, out=seen)
            return plate
        assert self._background is not None, "configure() loads a background for this effect"
        height_px, width_px = alpha.shape
        background_bgr = self._background.frame(
            width_px, height_px, time.monotonic() if at_s is None else at_s
        )
        self._report(self._background.problem if isinstance(self._background, VideoBackground)
                     else None)
        output = np.empty_like(frame_bgr)
        rows, cols = region or _WHOLE
        self._blender.composite(frame_bgr[rows, cols], alpha[rows, cols],
                                background_bgr[rows, cols], out=output[rows, cols])
        if config.light_wrap > 0.0:
            self._light_wrap.apply(output, alpha, background_bgr, config.light_wrap, out=output,
                                   within=region)
        return output

    def _report(self, problem: str | None) -> None:
        """Say once that the background went bad, and once that it works again."""
        if problem == self._reported_problem:
            return
        if problem is not None:
            self.messages.append(problem[:1].upper() + problem[1:])
        elif isinstance(self._background, VideoBackground):
            self.messages.append(f"Background video '{self._background.path}' plays again.")
        self._reported_problem = problem

    def close(self) -> None:
        """Release a video background's decoder."""
        if self._background is not None:
            self._background.close()
