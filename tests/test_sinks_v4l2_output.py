"""Backdrop's pure-Python v4l2loopback backend through the real VirtualCamSink and pyvirtualcam
Camera: what it refuses at open, and that a driver's write failure reaches ResilientSink (the
built-in backend prints it and carries on). The device itself is proven in the VM
(tests/vm/guest/sink_cases.py, case python_backend); here real kernel files stand in for it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pyvirtualcam import camera as pyvirtualcam_camera

from app.clock import FakeClock
from app.devices import v4l2_output
from app.devices.links import LOST
from app.devices.resilience import ResilientSink
from app.devices.sinks import SinkError, VirtualCamSink

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="V4L2 is Linux's")
WIDTH_PX, HEIGHT_PX = 64, 48


@pytest.fixture(autouse=True)
def _unregistered() -> Iterator[None]:
    """The backend registers itself when a sink asks for it; each test starts without it."""
    pyvirtualcam_camera.BACKENDS.pop(v4l2_output.BACKEND_NAME, None)
    yield
    pyvirtualcam_camera.BACKENDS.pop(v4l2_output.BACKEND_NAME, None)


def _writing_to(monkeypatch: pytest.MonkeyPatch, fd: int, device: str) -> None:
    """Open the backend on `fd` (a real kernel file) as if it were a configured loopback."""
    monkeypatch.setattr(v4l2_output, "_open_output", lambda _device: (fd, device))
    monkeypatch.setattr(v4l2_output, "_set_format", lambda *_args: None)


def _frame() -> np.ndarray:
    return np.full((HEIGHT_PX, WIDTH_PX, 3), 120, np.uint8)


def test_a_device_that_is_not_a_loopback_device_is_refused_at_open(tmp_path: Path) -> None:
    not_a_camera = tmp_path / "video9"
    not_a_camera.touch()
    sink = VirtualCamSink(backend=v4l2_output.BACKEND_NAME, device=str(not_a_camera))
    with pytest.raises(SinkError, match=f"Device capabilities of {not_a_camera} could not be "
                                        "queried"):
        sink.open(WIDTH_PX, HEIGHT_PX, 30)
    missing = VirtualCamSink(backend=v4l2_output.BACKEND_NAME, device=str(tmp_path / "video8"))
    with pytest.raises(SinkError, match="video8 does not exist"):
        missing.open(WIDTH_PX, HEIGHT_PX, 30)


def test_frames_are_written_whole_as_i420(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = tmp_path / "frames.i420"
    fd = os.open(written, os.O_WRONLY | os.O_CREAT)
    _writing_to(monkeypatch, fd, "/dev/video7")
    sink = VirtualCamSink(backend=v4l2_output.BACKEND_NAME, device="/dev/video7")
    sink.open(WIDTH_PX, HEIGHT_PX, 30)
    assert sink.description == f"virtual camera /dev/video7 ({v4l2_output.BACKEND_NAME})"
    sink.send(_frame())
    sink.send(_frame())
    sink.close()
    data = np.frombuffer(written.read_bytes(), np.uint8)
    assert data.size == 2 * WIDTH_PX * HEIGHT_PX * 3 // 2
    luma = data[: WIDTH_PX * HEIGHT_PX]
    assert abs(int(luma.mean()) - 120) <= 2, "grey 120 stays grey in Y"


def test_a_failed_write_reaches_resilient_sink_as_a_lost_device(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """/dev/full refuses every write with ENOSPC, as a driver's failure would come."""
    _writing_to(monkeypatch, os.open("/dev/full", os.O_WRONLY), "/dev/video7")
    sink = ResilientSink(VirtualCamSink(backend=v4l2_output.BACKEND_NAME, device="/dev/video7"),
                         FakeClock())
    sink.open(WIDTH_PX, HEIGHT_PX, 30, must_open=True)
    sink.send(_frame())
    assert sink.status.state == LOST
    assert "No space left on device" in sink.status.message
    sink.close()


def test_a_write_the_driver_cuts_short_raises_naming_the_bytes(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full non-blocking pipe takes part of a frame, as a device holding a smaller format
    takes only its own buffer's worth."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        _writing_to(monkeypatch, write_end, "/dev/video7")
        sink = VirtualCamSink(backend=v4l2_output.BACKEND_NAME, device="/dev/video7")
        big_w, big_h = 640, 480  # 460800 bytes of I420: more than a pipe holds
        sink.open(big_w, big_h, 30)
        with pytest.raises(SinkError, match=r"/dev/video7 took \d+ of the frame's 460800 bytes"):
            sink.send(np.zeros((big_h, big_w, 3), np.uint8))
        sink.close()
    finally:
        os.close(read_end)


def test_only_bgr_and_rgb_frames_are_accepted() -> None:
    with pytest.raises(ValueError, match="BGR or RGB frames"):
        v4l2_output.V4l2LoopbackOutput(width=WIDTH_PX, height=HEIGHT_PX, fps=30,
                                       fourcc=pyvirtualcam_camera.encode_fourcc("I420"),
                                       device="/dev/video7")
