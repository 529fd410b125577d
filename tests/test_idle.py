"""Nobody watching costs nothing: with no app reading the virtual camera and no preview seen,
Backdrop stops segmenting; it wakes on the first frame after an app opens the device."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from app.devices.consumers import ConsumerWatch, holders
from app.devices.demo import DemoSource
from app.devices.sinks import VirtualCamSink
from app.engine.pipeline import IDLE_MESSAGE, Pipeline
from app.settings import Settings
from tests.vcam_backend import (  # noqa: F401 - recording_vcam_fixture is a fixture
    RECORDING_BACKEND,
    VcamRecorder,
    recording_vcam_fixture,
)
from tests.waiting import wait_until


class FakeWatch:
    """Stands in for the inotify watch on /dev/videoN: the test says how many apps read."""

    def __init__(self) -> None:
        self.readers = 0
        self.closed = False

    def count(self) -> int | None:
        return self.readers

    def close(self) -> None:
        self.closed = True


def test_no_reader_and_no_preview_idles_and_an_app_opening_the_camera_wakes_it(
    recording_vcam: VcamRecorder,
) -> None:
    watch = FakeWatch()
    settings = Settings()
    settings = dataclasses.replace(
        settings, effect=dataclasses.replace(settings.effect, kind="blur"),
        output=dataclasses.replace(settings.output, width_px=320, height_px=240),
    )
    pipeline = Pipeline(settings, DemoSource(320, 240, 30.0), VirtualCamSink(RECORDING_BACKEND),
                        watch_consumers=lambda _device: watch)  # type: ignore[arg-type, return-value]
    pipeline.start()
    try:
        wait_until(lambda: pipeline.snapshot().state == "idle", "Backdrop idles")
        assert pipeline.snapshot().message == IDLE_MESSAGE
        frames_idle = pipeline.snapshot().frames_out
        camera = recording_vcam.last
        sent_then = camera.frames_received
        wait_until(lambda: camera.frames_received >= sent_then + 2,
                   "a still now and then keeps the device streaming")
        assert pipeline.snapshot().frames_out == frames_idle, "nothing segmented while idle"
        watch.readers = 1  # a meeting app opened the device
        wait_until(lambda: pipeline.snapshot().frames_out >= frames_idle + 10, "live again")
        assert pipeline.snapshot().state == "running"
        assert any("live again" in message for message in pipeline.messages)
        pipeline.set_preview_visible(True)
        watch.readers = 0  # the meeting closed it, but the window is open: keep running
        frames_then = pipeline.snapshot().frames_out
        wait_until(lambda: pipeline.snapshot().frames_out >= frames_then + 10, "still live")
    finally:
        pipeline.stop()
    assert watch.closed


def test_the_watch_counts_other_processes_holding_the_device_open(tmp_path: Path) -> None:
    device = tmp_path / "video9"  # inotify sees opens and closes of any file the same way
    device.write_bytes(b"")
    watch = ConsumerWatch(device)
    assert watch.watching and watch.count() == 0
    reader = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(device)!r}, 'rb'); import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
    )
    try:
        wait_until(lambda: watch.count() == 1, "the reader is counted")
        assert holders(device) == [(reader.pid, Path(sys.executable).name[:15])] or (
            holders(device)[0][0] == reader.pid)
    finally:
        assert reader.stdin is not None
        reader.stdin.close()
        reader.wait(10)
    wait_until(lambda: watch.count() == 0, "the reader is gone")
    watch.close()
