"""Test pattern that survives BGR -> I420 -> RGB and identifies each frame.

Top 3/4 of the frame: four solid quadrants whose colours identify the
*session* (0, 1, ...; one per producer open). Bottom 1/4: 16 black/white
cells carrying the frame counter (bit 15 first). ``decode`` samples patch
means, so it works at any resolution and tolerates chroma subsampling.
"""
from __future__ import annotations

import numpy as np

# RGB quadrant colours per session: TL, TR, BL, BR
SESSIONS = [
    [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)],
    [(255, 255, 0), (255, 0, 255), (0, 255, 255), (128, 128, 128)],
    [(255, 128, 0), (0, 128, 255), (128, 0, 255), (0, 0, 0)],
]
BITS = 16
TOL = 60  # per-channel tolerance after the YUV round trip


def _quad_boxes(w: int, h: int):
    top = h * 3 // 4
    hw, hh = w // 2, top // 2
    return [(0, 0, hw, hh), (hw, 0, w, hh), (0, hh, hw, top), (hw, hh, w, top)]


def _bit_boxes(w: int, h: int):
    top = h * 3 // 4
    cw = w // BITS
    return [(i * cw, top, (i + 1) * cw, h) for i in range(BITS)]


def make_frame_rgb(w: int, h: int, session: int, counter: int) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    for (x0, y0, x1, y1), c in zip(_quad_boxes(w, h), SESSIONS[session], strict=True):
        img[y0:y1, x0:x1] = c
    for i, (x0, y0, x1, y1) in enumerate(_bit_boxes(w, h)):
        if (counter >> (BITS - 1 - i)) & 1:
            img[y0:y1, x0:x1] = 255
    return img


def make_frame_bgr(w: int, h: int, session: int, counter: int) -> np.ndarray:
    return np.ascontiguousarray(make_frame_rgb(w, h, session, counter)[:, :, ::-1])


def _patch_mean(img: np.ndarray, box) -> np.ndarray:
    x0, y0, x1, y1 = box
    mx, my = max(1, (x1 - x0) // 4), max(1, (y1 - y0) // 4)
    return img[y0 + my:y1 - my, x0 + mx:x1 - mx].reshape(-1, 3).mean(axis=0)


def decode(img_rgb: np.ndarray) -> dict:
    """-> {"session": int|None, "counter": int|None, "quad_rgb": [...], "max_err": ..}"""
    h, w = img_rgb.shape[:2]
    quads = [_patch_mean(img_rgb, b) for b in _quad_boxes(w, h)]
    best, best_err = None, 1e9
    for s, cols in enumerate(SESSIONS):
        err = max(float(np.abs(q - np.array(c)).max()) for q, c in zip(quads, cols, strict=True))
        if err < best_err:
            best, best_err = s, err
    out = {"quad_rgb": [[round(float(v)) for v in q] for q in quads],
           "max_err": round(best_err, 1), "session": None, "counter": None}
    if best_err > TOL:
        return out
    out["session"] = best
    n = 0
    for b in _bit_boxes(w, h):
        m = float(_patch_mean(img_rgb, b).mean())
        if 60 < m < 195:   # neither black nor white: not our pattern
            return out
        n = (n << 1) | (m >= 128)
    out["counter"] = n
    return out


def analyse_rawvideo(path: str, w: int, h: int) -> list[dict]:
    """Decode every rgb24 frame of an ffmpeg ``-f rawvideo -pix_fmt rgb24`` file."""
    data = np.fromfile(path, np.uint8)
    fs = w * h * 3
    frames = []
    for i in range(len(data) // fs):
        d = decode(data[i * fs:(i + 1) * fs].reshape(h, w, 3))
        d["index"] = i
        frames.append(d)
    return frames


def summarise(frames: list[dict]) -> dict:
    """Runs of (session, counter-progress) for the report."""
    seq = [(f["session"], f["counter"]) for f in frames]
    runs = []
    for s, c in seq:
        if runs and runs[-1]["session"] == s:
            r = runs[-1]
            r["n"] += 1
            if c is not None:
                if r["last"] is not None and c == r["last"]:
                    r["repeats"] += 1
                r["last"] = c
                r["first"] = r["first"] if r["first"] is not None else c
        else:
            runs.append({"session": s, "n": 1, "first": c, "last": c, "repeats": 0})
    return {"frames": len(frames), "runs": runs,
            "undecodable": sum(1 for s, _ in seq if s is None)}
