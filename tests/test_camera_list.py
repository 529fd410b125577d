"""The list of cameras a user can pick: names from `cv2-enumerate-cameras` on Windows and macOS
(faked here, shaped like the package's CameraInfo), virtual cameras left out, the index and API
that open each, and the 'Camera N' fallback when the package is missing or fails."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

import app.devices.camera
import app.devices.sources
from app.clock import FakeClock
from app.devices.camera import DEV_DIR_ENV, CameraInfo, CameraSource
from app.devices.camera_list import (
    OpenCapture,
    is_virtual_camera,
    list_cameras,
    list_named_cameras,
    refuse_virtual_camera,
)
from app.devices.frames import SourceError
from app.devices.sources import open_source

DSHOW, MSMF, AVFOUNDATION = int(cv2.CAP_DSHOW), int(cv2.CAP_MSMF), int(cv2.CAP_AVFOUNDATION)


@dataclass
class FakeEnumerated:
    """Shaped like cv2_enumerate_cameras.CameraInfo."""

    index: int
    name: str
    path: str | None
    backend: int
    vid: int | None = None
    pid: int | None = None


@dataclass
class FakeEnumerator:
    """Stands in for `enumerate_cameras(apiPreference)`; records the API it was asked for."""

    found: list[FakeEnumerated]
    asked: list[int] = field(default_factory=list)

    def __call__(self, backend: int) -> list[FakeEnumerated]:
        self.asked.append(backend)
        return [camera for camera in self.found if camera.backend == backend]


class OneFrameCapture:
    """A capture that opens (or not) and has one picture; `opened_as` is what opened it."""

    def __init__(self, index: int | str, backend: int, opened: bool = True) -> None:
        self.opened_as, self.opened, self.released = (index, backend), opened, False

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        return True, np.zeros((48, 64, 3), np.uint8)

    def set(self, prop_id: int, value: float) -> bool:
        return True

    def get(self, prop_id: int) -> float:
        return 30.0 if prop_id == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self.released = True


_WINDOWS = [
    FakeEnumerated(0, "OBS Virtual Camera", None, DSHOW),
    FakeEnumerated(1, "Integrated Webcam", r"\\?\usb#vid_0c45&pid_6a10", DSHOW),
    FakeEnumerated(2, "Camera (NVIDIA Broadcast)", None, DSHOW),
    FakeEnumerated(3, "Logitech BRIO", r"\\?\usb#vid_046d&pid_085e", DSHOW),
    FakeEnumerated(0, "Integrated Webcam", r"\\?\usb#vid_0c45&pid_6a10", MSMF),
]


def test_windows_lists_real_cameras_by_name_with_their_directshow_index() -> None:
    enumerator = FakeEnumerator(_WINDOWS)
    cameras = list_cameras(platform="win32", enumerate_cameras=enumerator)
    assert enumerator.asked == [DSHOW]
    assert [(camera.index, camera.name, camera.backend) for camera in cameras] == [
        (1, "Integrated Webcam", DSHOW),
        (3, "Logitech BRIO", DSHOW),
    ]
    assert cameras[0].path == r"\\?\usb#vid_0c45&pid_6a10"


def test_windows_refuses_a_virtual_camera_typed_by_number_and_names_the_real_ones() -> None:
    """camera:0 is OBS's Virtual Camera here: Backdrop would read its own output back."""
    enumerator = FakeEnumerator(_WINDOWS)
    with pytest.raises(SourceError) as refused:
        refuse_virtual_camera("camera:0", 0, platform="win32", enumerate_cameras=enumerator)
    message = str(refused.value)
    assert "“OBS Virtual Camera”, a virtual camera" in message
    assert "camera:1 “Integrated Webcam”" in message and "camera:3 “Logitech BRIO”" in message
    with pytest.raises(SourceError):
        refuse_virtual_camera("camera:2", 2, platform="win32", enumerate_cameras=enumerator)
    refuse_virtual_camera("camera:1", 1, platform="win32", enumerate_cameras=enumerator)
    refuse_virtual_camera("camera:7", 7, platform="win32", enumerate_cameras=enumerator)


def test_macos_refuses_backdrops_own_camera_typed_by_number() -> None:
    enumerator = FakeEnumerator([FakeEnumerated(0, "FaceTime HD Camera", "0x80", AVFOUNDATION),
                                 FakeEnumerated(1, "Backdrop", "B3C4", AVFOUNDATION)])
    with pytest.raises(SourceError, match="“Backdrop”, a virtual camera"):
        refuse_virtual_camera("camera:1", 1, platform="darwin", enumerate_cameras=enumerator)


def test_a_camera_number_is_not_judged_when_the_cameras_cannot_be_listed() -> None:
    def failing(backend: int) -> list[FakeEnumerated]:
        raise OSError("no driver")

    refuse_virtual_camera("camera:0", 0, platform="win32", enumerate_cameras=failing)


def test_macos_lists_cameras_by_name_with_their_avfoundation_index() -> None:
    enumerator = FakeEnumerator([
        FakeEnumerated(0, "FaceTime HD Camera", "0x8020000005ac8514", AVFOUNDATION),
        FakeEnumerated(1, "OBS Virtual Camera", "7626645E-4425-469E-9D8B-97E0FA59AC75",
                       AVFOUNDATION),
        FakeEnumerated(2, "Jane's iPhone Camera", "A1B2", AVFOUNDATION),
        FakeEnumerated(3, "Backdrop", "B3C4", AVFOUNDATION),
    ])
    cameras = list_cameras(platform="darwin", enumerate_cameras=enumerator)
    assert enumerator.asked == [AVFOUNDATION]
    assert [(camera.index, camera.name) for camera in cameras] == [
        (0, "FaceTime HD Camera"), (2, "Jane's iPhone Camera"),
    ]
    assert {camera.backend for camera in cameras} == {AVFOUNDATION}


@pytest.mark.parametrize("name", [
    "Backdrop", "OBS Virtual Camera", "OBS Camera Extension", "Snap Camera", "XSplit VCam",
    "ManyCam Virtual Webcam", "Camera (NVIDIA Broadcast)", "Logi Capture",
    "Unity Video Capture", "Streamlabs Desktop Virtual Webcam", "e2eSoft  Virtual Camera",
    "mmhmm Camera", "Personify ChromaCam", "CamTwist",
])
def test_well_known_virtual_cameras_are_recognised(name: str) -> None:
    assert is_virtual_camera(name)


@pytest.mark.parametrize("name", [
    "Integrated Webcam", "FaceTime HD Camera", "Logitech BRIO", "HD Pro Webcam C920",
    "Jane's iPhone Camera", "DroidCam Source 3", "Camo",
])
def test_real_cameras_and_phone_relays_are_kept(name: str) -> None:
    assert not is_virtual_camera(name)


def test_cameras_of_the_same_name_are_numbered_in_index_order() -> None:
    enumerator = FakeEnumerator([
        FakeEnumerated(2, "HD Webcam", None, DSHOW),
        FakeEnumerated(0, "HD Webcam", None, DSHOW),
        FakeEnumerated(1, "", None, DSHOW),
        FakeEnumerated(3, "HD Webcam", None, DSHOW),
    ])
    cameras = list_named_cameras("win32", enumerator)
    assert [(camera.index, camera.name) for camera in cameras] == [
        (0, "HD Webcam"), (1, "Camera 1"), (2, "HD Webcam (2)"), (3, "HD Webcam (3)"),
    ]


def test_a_listed_camera_opens_with_the_index_and_api_that_listed_it() -> None:
    (camera,) = list_named_cameras("win32", FakeEnumerator(_WINDOWS[3:4]))
    opened: list[OneFrameCapture] = []

    def capture(index: int | str, backend: int) -> OneFrameCapture:
        opened.append(OneFrameCapture(index, backend))
        return opened[-1]

    source = CameraSource(camera.index, clock=FakeClock(), capture_factory=capture,
                          backend=camera.backend)
    source.open()
    source.close()
    assert [capture.opened_as for capture in opened] == [(3, DSHOW)]


def test_automatic_opens_the_first_real_camera_with_its_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "video3").touch()  # the Linux device-node check looks here
    monkeypatch.setenv(DEV_DIR_ENV, str(tmp_path))
    listed = list_named_cameras("win32", FakeEnumerator(_WINDOWS[2:4]))
    monkeypatch.setattr(app.devices.sources, "list_cameras", lambda: listed)
    opened: list[OneFrameCapture] = []

    def capture(index: int | str, backend: int) -> OneFrameCapture:
        opened.append(OneFrameCapture(index, backend))
        return opened[-1]

    monkeypatch.setattr(app.devices.camera, "_open_cv_capture", capture)
    source = open_source("auto", clock=FakeClock())
    source.open()
    source.close()
    assert [capture.opened_as for capture in opened] == [(3, DSHOW)]


def _probe(opens: set[int], probed: list[tuple[int, int]]) -> OpenCapture:
    """Opens the indices in `opens`; records every index and API it was asked for."""

    def open_capture(index: int, backend: int) -> OneFrameCapture:
        probed.append((index, backend))
        return OneFrameCapture(index, backend, opened=index in opens)

    return open_capture


@pytest.mark.parametrize("failure", [
    ModuleNotFoundError("No module named 'cv2_enumerate_cameras'"),
    OSError("DirectShow enumeration failed"),
])
def test_without_the_package_cameras_are_probed_as_camera_n_and_the_log_says_why(
    failure: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_backend: int) -> list[FakeEnumerated]:
        raise failure

    probed: list[tuple[int, int]] = []
    with caplog.at_level(logging.WARNING, logger="app.devices.camera_list"):
        cameras = list_named_cameras("darwin", broken, _probe({0, 2}, probed), max_index=3)
    assert cameras == [
        CameraInfo(0, "Camera 0", "", backend=AVFOUNDATION),
        CameraInfo(2, "Camera 2", "", backend=AVFOUNDATION),
    ]
    assert probed == [(0, AVFOUNDATION), (1, AVFOUNDATION), (2, AVFOUNDATION)]
    assert "could not list the cameras by name" in caplog.text
    assert str(failure) in caplog.text and "'Camera N'" in caplog.text


def test_linux_leaves_out_virtual_cameras_by_sysfs_name_too(tmp_path: Path) -> None:
    """A loopback is left out by its driver; a virtual camera on another driver by its name."""
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    dev.mkdir()
    for number, name in ((0, "Integrated Camera"), (1, "OBS Virtual Camera")):
        (sysfs / f"video{number}").mkdir(parents=True)
        (sysfs / f"video{number}" / "name").write_text(name + "\n")
        (dev / f"video{number}").touch()
    cameras = list_cameras(sysfs_dir=sysfs, dev_dir=dev, platform="linux")
    assert cameras == [CameraInfo(0, "Integrated Camera", str(dev / "video0"),
                                  backend=int(cv2.CAP_V4L2))]
