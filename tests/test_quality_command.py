"""`backdrop quality` on short demo runs: the figures against the truth are there and sane."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli.args import UserError
from app.cli.main import build_parser
from app.cli.quality import quality_command
from app.cli.quality_truth import measure_truth
from app.devices.demo import DemoSource
from app.settings import Settings
from tests.test_cli import backdrop

_TRUTH_FIGURES = ("iou", "boundary_f", "boundary_precision", "boundary_recall", "dt",
                  "edge_colour", "in_her_frame")


def test_the_true_alpha_scores_perfectly_and_one_a_frame_late_does_not() -> None:
    source = DemoSource(320, 180, 30.0, paced=False, motion="tilt")
    source.open()
    frames = [frame.image_bgr for frame in (source.read() for _ in range(5)) if frame is not None]
    true_alphas = [source.truth(index).alpha_u8 / np.float32(255.0) for index in range(5)]
    late = true_alphas[:1] + true_alphas[:-1]
    exact, behind = measure_truth(frames, [true_alphas, late], source.truth, Settings())
    source.close()
    assert (exact.iou, exact.boundary_f, exact.dt) == (1.0, 1.0, 0.0)
    assert exact.edge_colour < 5.0  # only the room's colours mixed into soft edges, and the wrap
    assert behind.dt > 0.5 and behind.iou < 1.0
    assert behind.edge_colour > exact.edge_colour


@pytest.mark.parametrize("motion", ["sway", "tilt"])
def test_flicker_in_her_frame_cancels_her_motion_but_not_a_boiling_or_stale_edge(
    motion: str,
) -> None:
    """Taken back into her resting pose, the true alpha hardly changes while she moves; an
    edge that wobbles by a pixel, or one that stays where she was, does."""
    source = DemoSource(640, 360, 30.0, paced=False, motion=motion)
    source.open()
    frames = [frame.image_bgr for frame in (source.read() for _ in range(8)) if frame is not None]
    true_alphas = [source.truth(index).alpha_u8 / np.float32(255.0) for index in range(8)]
    wobbling = [np.roll(alpha, 1 if index % 2 else -1, axis=1)
                for index, alpha in enumerate(true_alphas)]
    stale = true_alphas[:1] * 8
    exact, boiling, left_behind = measure_truth(
        frames, [true_alphas, wobbling, stale], source.truth, Settings(), source.rest_map)
    source.close()
    assert exact.in_her_frame < 1.5  # the resampling's own floor
    assert boiling.in_her_frame > 4 * exact.in_her_frame
    assert left_behind.in_her_frame > 1.5 * exact.in_her_frame


def test_the_static_demo_scores_backdrop_against_the_truth(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "quality", "--source", "demo", "--static", "--frames", "6",
                      "--size", "640x360", "--out", "q", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for side in ("raw_truth", "truth"):
        assert set(_TRUTH_FIGURES) <= set(report[side])
        assert len(report[side]["dt_per_frame"]) == 5  # one per frame after the first
    truth = report["truth"]
    assert truth["iou"] > 0.9
    assert 0.8 < truth["boundary_f"] <= 1.0
    assert 0.0 < truth["dt"] < 10.0  # still: only flicker is left
    assert 0.0 < truth["edge_colour"] < 40.0
    assert report["ratios"]["dt"] == pytest.approx(truth["dt"] / report["raw_truth"]["dt"])


def test_the_tilting_demo_prints_the_table_and_draws_the_plot(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "quality", "--source", "demo", "--motion", "tilt", "--frames",
                      "8", "--size", "640x360", "--out", "q", "--plot", "plot.png")
    assert result.returncode == 0, result.stderr
    assert "demo (tilt) at 640x360, 8 frames" in result.stdout
    for label in ("IoU", "boundary F", "dt (x100)", "edge colour", "flicker, her frame",
                  "Backdrop/raw"):
        assert label in result.stdout
    plot = cv2.imread(str(tmp_path / "plot.png"))
    assert plot is not None and plot.shape[0] > 500 and plot.shape[1] > 800


@pytest.mark.parametrize("option", [("--motion", "tilt"), ("--plot", "p.png")])
def test_truth_options_on_a_video_file_say_they_need_the_demo(
    tmp_path: Path, option: tuple[str, str]
) -> None:
    args = build_parser().parse_args(
        ["quality", "--source", str(tmp_path / "clip.mp4"), "--out", str(tmp_path), *option]
    )
    with pytest.raises(UserError, match="need the demo's known truth"):
        quality_command(args)
