"""`backdrop quality --plot`: the temporal error per frame, and the edges up close.

The zoomed crops show the hair and a shoulder of one frame composited as a user would see
them, on a dark and on a light background: a halo of the old room shows on one or the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.cli.quality_truth import ideal_output
from app.devices.demo import DemoTruth
from app.settings import Settings
from compositing.compositor import Compositor

# Solid backgrounds the crops are composited on (RGB).
_DARK_RGB = (24, 24, 28)
_LIGHT_RGB = (236, 236, 232)
# Crop side as a share of the frame height, and the frame row the shoulder crop is taken on.
_CROP_SHARE = 0.16
_SHOULDER_ROW_SHARE = 0.6


def plot_quality(
    report: Any, frame_bgr: np.ndarray, alphas: dict[str, np.ndarray], truth: DemoTruth,
    settings: Settings, target: Path,
) -> None:
    """Draw dt per frame for every alpha sequence in `report`, then the hair and shoulder of
    `frame_bgr` under each of `alphas` and under the true alpha, on dark and light."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = edge_crops(frame_bgr, alphas, truth, settings)
    figure = pyplot.figure(figsize=(12, 3.2 + 2.4 * len(rows)))
    grid = figure.add_gridspec(1 + len(rows), 4, height_ratios=[1.3] + [1.0] * len(rows))
    dt_axes = figure.add_subplot(grid[0, :])
    for label, figures in (("raw mask", report.raw_truth), ("Backdrop", report.truth)):
        frames = range(1, len(figures.dt_per_frame) + 1)
        dt_axes.plot(frames, figures.dt_per_frame, label=f"{label} (dt {figures.dt:.2f})")
    dt_axes.set_xlabel("frame")
    dt_axes.set_ylabel("temporal error dt (x100)")
    dt_axes.set_ylim(bottom=0)
    dt_axes.legend()
    dt_axes.set_title("Temporal error near the true edge, per frame (lower is steadier)")
    for row_index, (label, crops) in enumerate(rows):
        for column, (title, crop_bgr) in enumerate(crops):
            axes = figure.add_subplot(grid[1 + row_index, column])
            axes.imshow(cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2RGB), interpolation="nearest")
            axes.set_xticks([])
            axes.set_yticks([])
            if row_index == 0:
                axes.set_title(title)
            if column == 0:
                axes.set_ylabel(label)
    figure.suptitle(f"backdrop quality: {report.source}, {report.frames} frames")
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    pyplot.close(figure)


def edge_crops(
    frame_bgr: np.ndarray, alphas: dict[str, np.ndarray], truth: DemoTruth, settings: Settings
) -> list[tuple[str, list[tuple[str, np.ndarray]]]]:
    """For each alpha and the truth: (label, [(title, crop)] for hair and shoulder, each on
    dark and on light)."""
    boxes = _crop_boxes(truth.alpha_u8)
    shaded = {shade: _composites(frame_bgr, alphas, truth, settings, rgb)
              for shade, rgb in (("dark", _DARK_RGB), ("light", _LIGHT_RGB))}
    return [
        (label, [(f"{part}, {shade}", outputs[index][box])
                 for part, box in boxes.items() for shade, outputs in shaded.items()])
        for index, label in enumerate([*alphas, "truth"])
    ]


def _composites(
    frame_bgr: np.ndarray, alphas: dict[str, np.ndarray], truth: DemoTruth, settings: Settings,
    rgb: tuple[int, int, int],
) -> list[np.ndarray]:
    """The frame on a solid colour under each alpha (as the compositor does it), then ideally."""
    compositor = Compositor()
    compositor.configure("color", color_rgb=rgb, light_wrap=settings.effect.light_wrap,
                         edge_softness=settings.mask.edge_softness)
    outputs = [compositor.apply(frame_bgr, alpha) for alpha in alphas.values()]
    plate_bgr = np.empty_like(frame_bgr)
    plate_bgr[:] = rgb[::-1]
    ideal = ideal_output(frame_bgr, truth, plate_bgr)
    outputs.append(np.clip(np.round(ideal), 0, 255).astype(np.uint8))
    return outputs


def _crop_boxes(alpha_u8: np.ndarray) -> dict[str, tuple[slice, slice]]:
    """Square boxes around the top of her hair and her left shoulder's edge."""
    height_px, width_px = alpha_u8.shape
    side_px = max(8, round(_CROP_SHARE * height_px))
    person = alpha_u8 > 127
    top_row = int(np.flatnonzero(person.any(axis=1))[0])
    hair_col = int(np.flatnonzero(person[top_row]).mean())
    shoulder_row = round(_SHOULDER_ROW_SHARE * height_px)
    shoulder_col = int(np.flatnonzero(person[shoulder_row])[0])
    centres = {"hair": (top_row + side_px // 6, hair_col), "shoulder": (shoulder_row, shoulder_col)}
    boxes = {}
    for part, (row, col) in centres.items():
        top = int(np.clip(row - side_px // 2, 0, height_px - side_px))
        left = int(np.clip(col - side_px // 2, 0, width_px - side_px))
        boxes[part] = (slice(top, top + side_px), slice(left, left + side_px))
    return boxes

