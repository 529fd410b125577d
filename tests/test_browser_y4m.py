"""A real browser is the video-call client: Chromium reads Backdrop's .y4m as its camera.

Backdrop's command line writes a short .y4m with a solid green background. Headless Chromium
opens a localhost page that calls getUserMedia on a fake camera fed from that file, draws frames
into a canvas and posts the pixel values back. What a meeting participant would see: the room
(corners) is green, the person (centre) is not.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BACKGROUND_RGB = (0, 200, 0)
WIDTH_PX, HEIGHT_PX, FPS = 640, 360, 15
# YUV 4:2:0 round trip and soft mask edges stay well inside this; a person pixel does not.
COLOR_TOLERANCE = 30
BROWSER_TIMEOUT_S = 60.0

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install chromium); "
    "this test uses it as the video-call client",
)

# Samples up to 12 distinct frames (the fake camera loops the file) and posts patch means.
PAGE_HTML = b"""<!doctype html>
<meta charset="utf-8"><title>Backdrop camera check</title>
<video id="video" autoplay muted playsinline></video><canvas id="canvas"></canvas>
<script>
const PATCHES = {top_left: [0.02, 0.02], top_right: [0.98, 0.02], centre: [0.5, 0.5]};
const PATCH_PX = 12;
function report(result) {
  fetch("/result", {method: "POST", body: JSON.stringify(result)});
}
function sleep(ms) { return new Promise(resolve => setTimeout(resolve, ms)); }
function patchMean(ctx, width, height, fx, fy) {
  const x = Math.min(width - PATCH_PX, Math.max(0, Math.round(fx * width - PATCH_PX / 2)));
  const y = Math.min(height - PATCH_PX, Math.max(0, Math.round(fy * height - PATCH_PX / 2)));
  const data = ctx.getImageData(x, y, PATCH_PX, PATCH_PX).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += 4) {
    sum[0] += data[i]; sum[1] += data[i + 1]; sum[2] += data[i + 2];
  }
  return sum.map(s => s / (PATCH_PX * PATCH_PX));
}
async function main() {
  const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: false});
  const video = document.getElementById("video");
  video.srcObject = stream;
  await video.play();
  const canvas = document.getElementById("canvas");
  const frames = [];
  let lastTime = -1;
  for (let tries = 0; tries < 300 && frames.length < 12; tries++) {
    await sleep(40);
    if (video.readyState < 2 || video.currentTime === lastTime) continue;
    lastTime = video.currentTime;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const ctx = canvas.getContext("2d", {willReadFrequently: true});
    ctx.drawImage(video, 0, 0);
    const frame = {};
    for (const [name, [fx, fy]] of Object.entries(PATCHES)) {
      frame[name] = patchMean(ctx, canvas.width, canvas.height, fx, fy);
    }
    frames.push(frame);
  }
  report({label: stream.getVideoTracks()[0].label, width: canvas.width,
          height: canvas.height, frames: frames});
}
main().catch(error => report({error: String(error)}));
</script>
"""


@dataclass
class PageReport:
    """What the page posted back, and when."""

    received: threading.Event = field(default_factory=threading.Event)
    result: dict[str, Any] = field(default_factory=dict)


def _make_handler(report: PageReport) -> type[BaseHTTPRequestHandler]:
    class CameraCheckHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE_HTML)))
            self.end_headers()
            self.wfile.write(PAGE_HTML)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            report.result = json.loads(self.rfile.read(length))
            self.send_response(204)
            self.end_headers()
            report.received.set()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Keep the test output quiet."""

    return CameraCheckHandler


@pytest.fixture
def page_server() -> Iterator[tuple[str, PageReport]]:
    """Serve the check page on an ephemeral localhost port (a secure context for getUserMedia)."""
    report = PageReport()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(report))
    thread = threading.Thread(target=server.serve_forever, name="page-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", report
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _write_backdrop_y4m(path: Path) -> None:
    """Run the real command line: the demo person in front of a solid green background."""
    color = ",".join(str(c) for c in BACKGROUND_RGB)
    command = [
        sys.executable, "-m", "app.cli.main", "run", "--source", "demo",
        "--effect", "color", "--color", color, "--output", str(path),
        "--frames", "20", "--size", f"{WIDTH_PX}x{HEIGHT_PX}", "--fps", str(FPS),
    ]  # fmt: skip
    completed = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert completed.returncode == 0, f"backdrop run failed:\n{completed.stderr}"
    assert path.is_file() and path.stat().st_size > 0, f"backdrop run wrote nothing to {path}"


def _open_in_chromium(url: str, y4m_path: Path, report: PageReport, log_path: Path) -> None:
    """Start headless Chromium with the .y4m as its camera; wait until the page reports.

    Chromium runs in its own process group and the whole group is ended: its helper processes
    outlive the main one for a moment and went on writing into the profile while a temporary
    directory was being removed (a failure that depended on timing). The profile lives in the
    test's own folder, which pytest removes later."""
    assert CHROMIUM is not None
    profile_dir = log_path.parent / "chromium-profile"
    args = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m_path}",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", f"--user-data-dir={profile_dir}", url,
    ]  # fmt: skip
    with (
        open(log_path, "wb") as log,
        subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        ) as browser,
    ):
        try:
            report.received.wait(BROWSER_TIMEOUT_S)
        finally:
            _end_group(browser)
    if not report.received.is_set():
        tail = log_path.read_text(errors="replace")[-2000:]
        pytest.fail(f"Chromium's page reported nothing in {BROWSER_TIMEOUT_S} s:\n{tail}")


def _end_group(browser: subprocess.Popen[bytes]) -> None:
    """End Chromium and every process of its group, and reap the main one."""
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(browser.pid, signal_number)
        except ProcessLookupError:
            break  # the whole group is gone
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
    browser.wait()


def _distance(rgb: list[float], expected: tuple[int, int, int]) -> float:
    return max(abs(a - b) for a, b in zip(rgb, expected, strict=True))


def test_browser_camera_shows_backdrop_background_behind_the_person(
    tmp_path: Path, page_server: tuple[str, PageReport]
) -> None:
    url, report = page_server
    y4m_path = tmp_path / "backdrop.y4m"
    _write_backdrop_y4m(y4m_path)

    _open_in_chromium(url, y4m_path, report, tmp_path / "chromium.log")

    result = report.result
    assert "error" not in result, f"the page could not use the camera: {result['error']}"
    assert y4m_path.name in result["label"], f"Chromium used another camera: {result['label']}"
    assert (result["width"], result["height"]) == (WIDTH_PX, HEIGHT_PX)
    frames = result["frames"]
    assert len(frames) >= 3, f"Chromium showed only {len(frames)} frames"
    for index, frame in enumerate(frames):
        for corner in ("top_left", "top_right"):
            assert _distance(frame[corner], BACKGROUND_RGB) <= COLOR_TOLERANCE, (
                f"frame {index}: the {corner} corner is {frame[corner]}, not the green background"
            )
        assert _distance(frame["centre"], BACKGROUND_RGB) > 3 * COLOR_TOLERANCE, (
            f"frame {index}: the centre (the person) is {frame['centre']}, the background colour"
        )
