"""Linux-Fake-Background-Webcam's own per-frame path on a video file, for the README's
side-by-side with `backdrop bench --source FILE` (issue 14). Prints one JSON line.

  python packaging/peer_lfbw.py LFBW_CHECKOUT CLIP.mp4 blur|image [SECONDS]

LFBW_CHECKOUT is a checkout of https://github.com/fangfufu/Linux-Fake-Background-Webcam (none of
it is in this repository). Its imports (inotify_simple, configargparse, cmapy, matplotlib) must
be importable: `pip install --target DIR` them and put DIR on PYTHONPATH, after deleting the
opencv-python and numpy that cmapy pulls in (DIR/cv2, DIR/opencv_python*, DIR/numpy*), so this
venv's own cv2 and numpy are the ones loaded (two packages must never own cv2).

The peer's `FakeCam` state is built without a camera or a virtual camera; its `compose_frame`
then runs on frames decoded in advance, one thread, each result copied as its `run` loop
copies it for the sender thread. It uses Backdrop's landscape model (the same file the peer
downloads, with Tasks metadata) and, for `image`, the peer's own `background.jpg`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2

MODEL = Path(__file__).resolve().parents[1] / "assets" / "models" / "selfie_landscape.tflite"


def main() -> None:
    checkout, clip, effect = Path(sys.argv[1]).resolve(), sys.argv[2], sys.argv[3]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
    capture = cv2.VideoCapture(clip)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    if not frames:
        sys.exit(f"peer_lfbw: cannot read frames from {clip}")
    height, width = frames[0].shape[:2]
    work = Path(tempfile.mkdtemp(prefix="peer-lfbw-"))
    shutil.copy(MODEL, work / "selfie_segmenter_landscape.tflite")
    shutil.copy(checkout / "background.jpg", work / "background.jpg")
    os.chdir(work)  # the peer loads its model and pictures from the working directory
    sys.path.insert(0, str(checkout / "lfbw"))
    import lfbw  # type: ignore[import-not-found]

    background = "no" if effect == "blur" else "file=background.jpg"
    args = lfbw.parser().parse_args(["-W", str(width), "-H", str(height),
                                     "--background", background])
    cam = lfbw.FakeCam.__new__(lfbw.FakeCam)  # its __init__ opens the webcam and the device
    cam.width, cam.height, cam.fps = width, height, 30
    cam.use_sigmoid, cam.postprocess = args.use_sigmoid, args.no_postprocess
    cam.threshold = lfbw.getPercentageFloat(args.threshold)
    cam.filters = {name: lfbw.create_filter_config(lfbw.process_filter_args(getattr(args, name)),
                                                   name)
                   for name in ("selfie", "background", "mask")}
    cam.old_mask = None
    cam.classifier = lfbw.ImageSegmenter(width, height)
    cam.load_images()
    for frame in frames[:10]:  # warm up, as the bench does
        cam.compose_frame(frame.copy())
    count, started_s, cpu_started_s = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started_s < seconds:
        cam.compose_frame(frames[count % len(frames)].copy()).copy()
        count += 1
    wall_s, cpu_s = time.perf_counter() - started_s, time.process_time() - cpu_started_s
    cam.classifier.close()
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"peer": f"LFBW {effect}", "size": f"{width}x{height}", "frames": count,
                      "fps": count / wall_s, "cpu_ms_per_frame": 1000 * cpu_s / count,
                      "fps_per_cpu_s": count / cpu_s}))


if __name__ == "__main__":
    main()
