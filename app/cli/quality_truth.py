"""`backdrop quality` against the truth: the demo knows where the person is in every frame and
what colours she has, so the raw mask and Backdrop's alpha can be scored against it.

The edge colour composites on an image background with the compositor and the settings a user
gets (light wrap included), and compares with the composite a perfect matte would give.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from app.devices.demo import DemoTruth
from app.engine.session import with_default_background
from app.settings import Settings
from compositing.backgrounds import ImageBackground
from compositing.compositor import Compositor
from compositing.files import load_background
from segmentation import quality


@dataclasses.dataclass
class TruthFigures:
    """One alpha sequence scored against the truth (see segmentation/quality.py)."""

    iou: float
    boundary_f: float
    boundary_precision: float
    boundary_recall: float
    dt: float  # RMS over frames of the per-frame temporal error, x100
    edge_colour: float  # 8-bit levels
    dt_per_frame: list[float]  # from the second frame on
    # Mean RMS change between frames taken back into her resting pose, x100 (see HerFrame).
    in_her_frame: float = 0.0


# Maps (cv2.remap) that take frame `index` back into her resting pose, over a box of it.
RestMap = Callable[[int, tuple[slice, slice]], tuple[np.ndarray, np.ndarray]]


def image_settings(settings: Settings) -> Settings:
    """`settings` with the image effect on the background a user gets by default."""
    effect = dataclasses.replace(settings.effect, kind="image")
    return with_default_background(dataclasses.replace(settings, effect=effect))


def image_compositor(settings: Settings) -> Compositor:
    """A compositor configured from `settings` as the engine configures its own."""
    effect = settings.effect
    compositor = Compositor()
    compositor.configure(
        effect=effect.kind,
        blur_strength=effect.blur,
        color_rgb=effect.color_rgb,
        background=load_background(effect.background, "image") if effect.background else None,
        light_wrap=effect.light_wrap,
        edge_softness=settings.mask.edge_softness,
    )
    return compositor


@dataclasses.dataclass
class _Totals:
    """Per-frame figures of one alpha sequence, as they come in."""

    iou: list[float] = dataclasses.field(default_factory=list)
    precision: list[float] = dataclasses.field(default_factory=list)
    recall: list[float] = dataclasses.field(default_factory=list)
    f: list[float] = dataclasses.field(default_factory=list)
    dt: list[float] = dataclasses.field(default_factory=list)
    edge_colour: list[float] = dataclasses.field(default_factory=list)
    in_her_frame: list[float] = dataclasses.field(default_factory=list)
    previous_rest: np.ndarray | None = None

    def figures(self) -> TruthFigures:
        dt = float(np.sqrt(np.mean(np.square(self.dt)))) if self.dt else 0.0
        return TruthFigures(
            iou=float(np.mean(self.iou)), boundary_f=float(np.mean(self.f)),
            boundary_precision=float(np.mean(self.precision)),
            boundary_recall=float(np.mean(self.recall)),
            dt=dt, edge_colour=float(np.mean(self.edge_colour)), dt_per_frame=list(self.dt),
            in_her_frame=float(np.mean(self.in_her_frame)) if self.in_her_frame else 0.0,
        )


class HerFrame:
    """Alphas taken back into her resting pose along her known motion, so that what follows
    her cancels and only what does not (the edge boiling, flickering or trailing) changes from
    frame to frame. The truth itself scores the resampling's floor (about 0.8 on the sway)."""

    def __init__(self, rest_map: RestMap, first_truth: np.ndarray) -> None:
        self._rest_map = rest_map
        height_px, width_px = first_truth.shape
        map_x, map_y = rest_map(0, (slice(0, height_px), slice(0, width_px)))
        rest_truth = cv2.remap(first_truth, map_x, map_y, cv2.INTER_LINEAR)
        band = quality.true_edge_band(rest_truth)
        self.box = quality.bounding_box(band)
        self._band = band[self.box]
        self._maps: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None

    def take_back(self, alpha: np.ndarray, index: int) -> np.ndarray:
        """The edge band of frame `index`'s alpha, in her resting pose."""
        if self._maps is None or self._maps[0] != index:
            self._maps = (index, self._rest_map(index, self.box))
        map_x, map_y = self._maps[1]
        rest: np.ndarray = cv2.remap(alpha.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR)
        return rest[self._band]


class TruthFrame:
    """One frame's truth, prepared for scoring: the true alpha in [0, 1], the band around its
    edge, the band's bounding box, and the ideal composite over `background_bgr` in that box
    (all the edge colour needs, at a fraction of a whole frame's cost)."""

    def __init__(self, frame_bgr: np.ndarray, truth: DemoTruth, background_bgr: np.ndarray) -> None:
        self.alpha = truth.alpha_u8.astype(np.float32) / 255.0
        self.band = quality.true_edge_band(self.alpha)
        self.box = box = quality.bounding_box(self.band)
        in_box = DemoTruth(truth.alpha_u8[box], truth.person_bgr[box], truth.clean_bgr[box])
        self.ideal_bgr = ideal_output(frame_bgr[box], in_box, background_bgr[box])


def ideal_output(frame_bgr: np.ndarray, truth: DemoTruth, background_bgr: np.ndarray) -> np.ndarray:
    """What a perfect matte shows: her colours with the frame's own sensor noise (the camera
    saw her so; no matte removes it) times the true alpha, over the new background."""
    alpha = truth.alpha_u8.astype(np.float32) / 255.0
    noise = frame_bgr.astype(np.float32) - truth.clean_bgr
    person = truth.person_bgr + noise * alpha[..., None]
    return quality.ideal_composite(person, alpha, background_bgr)


def measure_truth(
    frames: Sequence[np.ndarray],
    alpha_sequences: Sequence[Sequence[np.ndarray]],
    truth_of: Callable[[int], DemoTruth],
    settings: Settings,
    rest_map: RestMap | None = None,
) -> list[TruthFigures]:
    """Score each alpha sequence (e.g. raw, Backdrop) against the truth of every frame; with
    `rest_map`, also the flicker in her own frame of reference."""
    with_image = image_settings(settings)
    compositor = image_compositor(with_image)
    background = ImageBackground(with_image.effect.background)  # the compositor's plate
    totals = [_Totals() for _ in alpha_sequences]
    previous: TruthFrame | None = None
    her_frame: HerFrame | None = None
    try:
        for index, frame_bgr in enumerate(frames):
            height_px, width_px = frame_bgr.shape[:2]
            background_bgr = background.frame(width_px, height_px)
            current = TruthFrame(frame_bgr, truth_of(index), background_bgr)
            if rest_map is not None and her_frame is None:
                her_frame = HerFrame(rest_map, current.alpha)
            for alphas, total in zip(alpha_sequences, totals, strict=True):
                _score(total, frame_bgr, alphas, index, current, previous, compositor)
                if her_frame is not None:
                    _score_in_her_frame(total, her_frame.take_back(alphas[index], index))
            previous = current
    finally:
        compositor.close()
    return [total.figures() for total in totals]


def _score(
    total: _Totals, frame_bgr: np.ndarray, alphas: Sequence[np.ndarray], index: int,
    current: TruthFrame, previous: TruthFrame | None, compositor: Compositor,
) -> None:
    """Add frame `index` of one alpha sequence to its totals."""
    alpha = alphas[index]
    total.iou.append(quality.iou(alpha, current.alpha))
    score = quality.boundary(alpha, current.alpha)
    total.precision.append(score.precision)
    total.recall.append(score.recall)
    total.f.append(score.f)
    output_bgr = compositor.apply(frame_bgr, alpha)
    box = current.box
    total.edge_colour.append(
        quality.edge_colour_error(output_bgr[box], current.ideal_bgr, current.band[box])
    )
    if previous is not None:
        total.dt.append(quality.temporal_error(
            (alphas[index - 1], alpha), (previous.alpha, current.alpha),
            previous.band | current.band,
        ))


def _score_in_her_frame(total: _Totals, rest_band: np.ndarray) -> None:
    """Add one frame's change in her own frame of reference to its totals."""
    if total.previous_rest is not None:
        change = rest_band - total.previous_rest
        total.in_her_frame.append(100.0 * float(np.sqrt(np.mean(np.square(change)))))
    total.previous_rest = rest_band
