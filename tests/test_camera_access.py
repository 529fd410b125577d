"""macOS camera permission, asked on the main thread before any camera opens: a fake
AVFoundation module stands in for pyobjc's."""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace
from typing import Any

import pytest

from app.devices.camera_access import SKIP_OPENCV_AUTH_ENV, request_camera_access


class FakeCaptureDevice:
    """AVCaptureDevice's two class methods; records the access requests."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[tuple[str, Any]] = []

    def authorizationStatusForMediaType_(self, media_type: str) -> int:  # noqa: N802
        assert media_type == "vide"
        return self.status

    def requestAccessForMediaType_completionHandler_(  # noqa: N802 (pyobjc's name)
        self, media_type: str, handler: Any
    ) -> None:
        self.requests.append((media_type, handler))


def _avfoundation(status: int) -> SimpleNamespace:
    return SimpleNamespace(AVCaptureDevice=FakeCaptureDevice(status), AVMediaTypeVideo="vide")


def test_only_macos_asks() -> None:
    def never() -> Any:
        raise AssertionError("AVFoundation loaded off macOS")

    assert request_camera_access("linux", never) == "not needed"
    assert request_camera_access("win32", never) == "not needed"


def test_a_user_never_asked_is_asked_and_opencv_does_not_ask_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(SKIP_OPENCV_AUTH_ENV, raising=False)
    avfoundation = _avfoundation(0)
    assert request_camera_access("darwin", lambda: avfoundation) == "asked"
    ((media_type, handler),) = avfoundation.AVCaptureDevice.requests
    assert media_type == "vide"
    assert os.environ.get(SKIP_OPENCV_AUTH_ENV) == "1"  # monkeypatch restores it afterwards
    with caplog.at_level(logging.WARNING, logger="app.devices.camera_access"):
        handler(False)
    assert "Privacy & Security > Camera" in caplog.text


def test_an_answer_already_given_is_not_asked_again_and_a_refusal_says_where_to_allow(
    caplog: pytest.LogCaptureFixture,
) -> None:
    allowed, refused = _avfoundation(3), _avfoundation(2)
    assert request_camera_access("darwin", lambda: allowed) == "authorized"
    with caplog.at_level(logging.WARNING, logger="app.devices.camera_access"):
        assert request_camera_access("darwin", lambda: refused) == "denied"
    assert not allowed.AVCaptureDevice.requests and not refused.AVCaptureDevice.requests
    assert "allow it in System Settings > Privacy & Security > Camera" in caplog.text


def test_without_pyobjc_opencv_is_left_to_ask() -> None:
    def missing() -> Any:
        raise ModuleNotFoundError("No module named 'AVFoundation'")

    assert request_camera_access("darwin", missing) == "unknown"
