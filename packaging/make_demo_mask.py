"""Make the cut-out mask of the demo portrait (assets/demo/astronaut_mask.png).

The demo source pastes the astronaut over a generated room, so it needs her alpha
matte. This script makes it once, so the demo starts without the model:

1. the MediaPipe selfie model (general, 256x256) gives a person confidence;
2. GrabCut, seeded from that confidence, snaps the outline to the photo's colours
   (the model also claims the red flag stripe at the lower left; the stripe's
   pixels that touch the left border are seeded as background);
3. a guided filter with the photo as guide turns the binary cut into soft edges
   (hair strands), and the result is saved as an 8-bit alpha PNG (255 = person).

Usage::

    python packaging/make_demo_mask.py [--photo assets/demo/astronaut.png]
        [--model assets/models/selfie_general.tflite] [--out assets/demo/astronaut_mask.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

_ROOT = Path(__file__).resolve().parents[1]
_MODEL_SIZE_PX = 256
# Seeds: confident person after this erosion, confident background beyond this dilation.
_SEED_MARGIN_PX = 25
_GRABCUT_ITERATIONS = 8
_GUIDED_RADIUS_PX = 3
_GUIDED_EPS = (0.01 * 255) ** 2


def model_confidence(photo_bgr: np.ndarray, model_path: Path) -> np.ndarray:
    """Person confidence from the selfie model, float32 in [0, 1] at photo size."""
    options = vision.ImageSegmenterOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)),
        running_mode=vision.RunningMode.IMAGE,
        output_confidence_masks=True,
        output_category_mask=False,
    )
    small = cv2.resize(photo_bgr, (_MODEL_SIZE_PX, _MODEL_SIZE_PX), interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    with vision.ImageSegmenter.create_from_options(options) as segmenter:
        result = segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        confidence = np.array(result.confidence_masks[0].numpy_view(), dtype=np.float32)
    height_px, width_px = photo_bgr.shape[:2]
    full_size = cv2.resize(confidence.squeeze(), (width_px, height_px))
    return np.clip(full_size, 0.0, 1.0)


def _largest_component(binary: np.ndarray) -> np.ndarray:
    """Keep only the largest 8-connected blob of a 0/1 uint8 mask."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        raise SystemExit("The model found no person in the photo.")
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == largest).astype(np.uint8)


def _fill_holes(binary: np.ndarray) -> np.ndarray:
    """Fill background blobs that do not touch the photo border (holes in the person)."""
    filled = binary.copy()
    height_px, width_px = binary.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(1 - binary, connectivity=4)
    for label in range(1, count):
        x, y, w, h = stats[label, :4]
        if x > 0 and y > 0 and x + w < width_px and y + h < height_px:
            filled[labels == label] = 1
    return filled


def _flag_stripe(photo_bgr: np.ndarray) -> np.ndarray:
    """The crimson flag stripe at the lower left, as far as it touches the left border."""
    hsv = cv2.cvtColor(photo_bgr, cv2.COLOR_BGR2HSV)
    crimson = ((hsv[..., 0] >= 160) & (hsv[..., 1] > 150)).astype(np.uint8)
    crimson[:350] = 0
    crimson[:, 60:] = 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(crimson, connectivity=4)
    touching = [label for label in range(1, count) if stats[label, cv2.CC_STAT_LEFT] == 0]
    return np.isin(labels, touching) & (crimson > 0)


def grabcut_person(photo_bgr: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Binary person mask (0/1 uint8): the model's cut snapped to colour edges by GrabCut."""
    person = _fill_holes(_largest_component((confidence > 0.5).astype(np.uint8)))
    kernel = cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (_SEED_MARGIN_PX, _SEED_MARGIN_PX)
    )
    # Erode from the sides and top only: the body continues below the bottom edge.
    pad = _SEED_MARGIN_PX
    padded = cv2.copyMakeBorder(person, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    padded[-pad:, pad:-pad] = person[-1]
    sure_person = cv2.erode(padded, kernel)[pad:-pad, pad:-pad]
    sure_background = cv2.dilate(person, kernel) == 0

    labels = np.full(person.shape, cv2.GC_PR_BGD, np.uint8)
    labels[person == 1] = cv2.GC_PR_FGD
    labels[sure_person == 1] = cv2.GC_FGD
    labels[sure_background] = cv2.GC_BGD
    labels[:, :6] = cv2.GC_BGD  # she never touches the left border
    labels[_flag_stripe(photo_bgr)] = cv2.GC_BGD
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.grabCut(
        photo_bgr, labels, (0, 0, 0, 0), background_model, foreground_model,
        _GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK,
    )
    cut = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8)
    return _fill_holes(_largest_component(cut))


def soft_alpha(photo_bgr: np.ndarray, person: np.ndarray) -> np.ndarray:
    """Soft uint8 alpha (255 = person) that follows the photo's edges (guided filter)."""
    alpha = cv2.ximgproc.guidedFilter(
        photo_bgr, person.astype(np.float32), _GUIDED_RADIUS_PX, _GUIDED_EPS
    )
    return np.round(np.clip(alpha, 0.0, 1.0) * 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", type=Path, default=_ROOT / "assets/demo/astronaut.png")
    parser.add_argument(
        "--model", type=Path, default=_ROOT / "assets/models/selfie_general.tflite"
    )
    parser.add_argument("--out", type=Path, default=_ROOT / "assets/demo/astronaut_mask.png")
    args = parser.parse_args()

    photo_bgr = cv2.imread(str(args.photo), cv2.IMREAD_COLOR)
    if photo_bgr is None:
        raise SystemExit(f"Cannot read the photo {args.photo}.")
    confidence = model_confidence(photo_bgr, args.model)
    alpha = soft_alpha(photo_bgr, grabcut_person(photo_bgr, confidence))
    if not cv2.imwrite(str(args.out), alpha):
        raise SystemExit(f"Cannot write {args.out}.")
    coverage = float(np.mean(alpha > 127))
    print(f"Wrote {args.out}: {alpha.shape[1]}x{alpha.shape[0]}, person covers {coverage:.0%}")


if __name__ == "__main__":
    main()
