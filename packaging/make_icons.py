"""Draw Backdrop's app icon: a person in front of a soft, blurred gradient in a rounded square.

One geometry (in a 512-unit square) drives both the SVG and the PNGs, so they match. PNGs are
drawn 4x larger and shrunk with area averaging for clean edges; the .ico holds the small PNGs.

Usage::

    python packaging/make_icons.py [assets/icons]
"""

from __future__ import annotations

import argparse
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PNG_SIZES_PX = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES_PX = (16, 24, 32, 48, 64, 128, 256)
SUPERSAMPLE = 4
UNITS = 512  # the SVG's viewBox and the geometry's coordinate system


@dataclass(frozen=True)
class Circle:
    """A circle in icon units; `opacity` is how strongly it is painted over what is below."""

    x: float
    y: float
    radius: float
    opacity: float = 1.0


TILE_MARGIN = 24.0
TILE_RADIUS = 104.0
GRADIENT_RGB = ((34, 193, 195), (59, 63, 182))  # top left to bottom right
# Out-of-focus lights behind the person: they say "background" even at 32 px.
BOKEH = (
    Circle(118, 132, 58, 0.28),
    Circle(400, 122, 42, 0.24),
    Circle(414, 300, 60, 0.2),
    Circle(96, 322, 38, 0.22),
)
HEAD = Circle(256, 198, 80)
# The shoulders: the top half of an ellipse, cut off by the tile's bottom edge.
SHOULDERS_CENTRE = (256.0, 492.0)
SHOULDERS_RADII = (134.0, 160.0)
PERSON_RGB = (255, 255, 255)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def icon_svg() -> str:
    """The icon as a standalone SVG document."""
    inner = UNITS - 2 * TILE_MARGIN
    start, end = (_hex(rgb) for rgb in GRADIENT_RGB)
    bokeh = "\n".join(
        f'    <circle cx="{c.x:g}" cy="{c.y:g}" r="{c.radius:g}" fill="#FFFFFF" '
        f'fill-opacity="{c.opacity:g}" filter="url(#soft)"/>'
        for c in BOKEH
    )
    cx, cy = SHOULDERS_CENTRE
    rx, ry = SHOULDERS_RADII
    tile = (
        f'x="{TILE_MARGIN:g}" y="{TILE_MARGIN:g}" width="{inner:g}" height="{inner:g}" '
        f'rx="{TILE_RADIUS:g}"'
    )
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{UNITS}" height="{UNITS}" \
viewBox="0 0 {UNITS} {UNITS}">
  <title>Backdrop</title>
  <defs>
    <linearGradient id="tile" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="{start}"/>
      <stop offset="1" stop-color="{end}"/>
    </linearGradient>
    <clipPath id="tile-shape"><rect {tile}/></clipPath>
    <filter id="soft" x="-50%" y="-50%" width="200%" height="200%">
      <feGaussianBlur stdDeviation="10"/>
    </filter>
  </defs>
  <rect {tile} fill="url(#tile)"/>
  <g clip-path="url(#tile-shape)">
{bokeh}
    <circle cx="{HEAD.x:g}" cy="{HEAD.y:g}" r="{HEAD.radius:g}" fill="{_hex(PERSON_RGB)}"/>
    <ellipse cx="{cx:g}" cy="{cy:g}" rx="{rx:g}" ry="{ry:g}" fill="{_hex(PERSON_RGB)}"/>
  </g>
</svg>
"""


def _tile_mask(size_px: int, scale: float) -> np.ndarray:
    """1 inside the rounded square, 0 outside (float32, hard edge at this resolution)."""
    mask = np.zeros((size_px, size_px), np.uint8)
    lo, hi, radius = (round(v * scale) for v in (TILE_MARGIN, UNITS - TILE_MARGIN, TILE_RADIUS))
    cv2.rectangle(mask, (lo + radius, lo), (hi - radius, hi), 255, -1)
    cv2.rectangle(mask, (lo, lo + radius), (hi, hi - radius), 255, -1)
    for x in (lo + radius, hi - radius):
        for y in (lo + radius, hi - radius):
            cv2.circle(mask, (x, y), radius, 255, -1, cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0


def _gradient_rgb(size_px: int) -> np.ndarray:
    """The diagonal gradient, as float32 RGB in [0, 255]."""
    ramp = np.linspace(0.0, 1.0, size_px, dtype=np.float32)
    t = (ramp[None, :] + ramp[:, None]) / 2.0
    start, end = (np.array(rgb, np.float32) for rgb in GRADIENT_RGB)
    return start + (end - start) * t[..., None]


def _over(rgb: np.ndarray, coverage: np.ndarray, color_rgb: tuple[int, int, int]) -> None:
    """Paint `color_rgb` over `rgb` in place, weighted by `coverage` in [0, 1]."""
    rgb += (np.array(color_rgb, np.float32) - rgb) * coverage[..., None]


def render_icon(size_px: int) -> np.ndarray:
    """The icon as an RGBA uint8 image of `size_px` square."""
    big_px = size_px * SUPERSAMPLE
    scale = big_px / UNITS
    rgb = _gradient_rgb(big_px)

    bokeh: np.ndarray = np.zeros((big_px, big_px), np.float32)
    for light in BOKEH:
        disc = np.zeros_like(bokeh)
        center = (round(light.x * scale), round(light.y * scale))
        cv2.circle(disc, center, round(light.radius * scale), light.opacity, -1, cv2.LINE_AA)
        bokeh = np.maximum(bokeh, disc)
    bokeh = cv2.GaussianBlur(bokeh, (0, 0), sigmaX=10 * scale)
    _over(rgb, bokeh, (255, 255, 255))

    person = np.zeros((big_px, big_px), np.uint8)
    head_center = (round(HEAD.x * scale), round(HEAD.y * scale))
    cv2.circle(person, head_center, round(HEAD.radius * scale), 255, -1, cv2.LINE_AA)
    shoulders_center = tuple(round(v * scale) for v in SHOULDERS_CENTRE)
    shoulders_axes = tuple(round(v * scale) for v in SHOULDERS_RADII)
    cv2.ellipse(person, shoulders_center, shoulders_axes, 0, 0, 360, 255, -1, cv2.LINE_AA)
    _over(rgb, person.astype(np.float32) / 255.0, PERSON_RGB)

    alpha = _tile_mask(big_px, scale) * 255.0
    rgba = np.dstack([rgb, alpha])
    small = cv2.resize(rgba, (size_px, size_px), interpolation=cv2.INTER_AREA)
    # Colour is painted under the transparent corners too, so edge pixels average the right colour.
    return np.clip(np.rint(small), 0, 255).astype(np.uint8)


def encode_png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an RGBA image."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    if not ok:
        raise RuntimeError("OpenCV could not encode the icon as PNG")
    return encoded.tobytes()


def encode_ico(pngs_by_size: dict[int, bytes]) -> bytes:
    """A Windows .ico holding PNG images (understood since Windows Vista)."""
    header = struct.pack("<HHH", 0, 1, len(pngs_by_size))
    offset = len(header) + 16 * len(pngs_by_size)
    entries, images = b"", b""
    for size_px, png in sorted(pngs_by_size.items()):
        dimension = 0 if size_px >= 256 else size_px  # 0 means 256 in an ICO entry
        entries += struct.pack("<BBBBHHII", dimension, dimension, 0, 0, 1, 32, len(png), offset)
        images += png
        offset += len(png)
    return header + entries + images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, nargs="?", default=Path("assets/icons"))
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "backdrop.svg").write_text(icon_svg(), encoding="utf-8")
    pngs = {size_px: encode_png(render_icon(size_px)) for size_px in PNG_SIZES_PX}
    for size_px, png in pngs.items():
        (args.out_dir / f"backdrop-{size_px}.png").write_bytes(png)
    ico = encode_ico({size_px: pngs[size_px] for size_px in ICO_SIZES_PX})
    (args.out_dir / "backdrop.ico").write_bytes(ico)
    print(f"wrote backdrop.svg, backdrop.ico and {len(pngs)} PNGs to {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
