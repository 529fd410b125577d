"""Camera permission on macOS, asked for on the main thread before any camera opens.

OpenCV's AVFoundation backend asks by itself only on the main thread (it spins the main run
loop); Backdrop opens cameras on helpers, where OpenCV just prints "can not spin main run loop
from other thread" and fails. So the app asks first, through pyobjc's AVFoundation (which
`cv2-enumerate-cameras` brings on macOS), and tells OpenCV not to ask again.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

SKIP_OPENCV_AUTH_ENV = "OPENCV_AVFOUNDATION_SKIP_AUTH"
# AVAuthorizationStatus
_NOT_DETERMINED, _RESTRICTED, _DENIED, _AUTHORIZED = 0, 1, 2, 3
_STATUS_WORDS = {_RESTRICTED: "restricted", _DENIED: "denied", _AUTHORIZED: "authorized"}
_SETTINGS_HINT = "System Settings > Privacy & Security > Camera"


def _import_avfoundation() -> Any:
    return importlib.import_module("AVFoundation")


def request_camera_access(
    platform: str | None = None, load_avfoundation: Callable[[], Any] | None = None
) -> str:
    """On macOS, ask the user for camera access if never asked; call it on the main thread.

    Returns "not needed" off macOS, else "asked" (the prompt is up; the camera opens once the
    user allows it, as the pipeline retries), "authorized", "denied", "restricted" or
    "unknown" (pyobjc missing: OpenCV's first open then asks, if it runs on the main thread).
    """
    if (platform or sys.platform) != "darwin":
        return "not needed"
    try:
        avfoundation = (load_avfoundation or _import_avfoundation)()
    except ImportError as error:
        log.info("cannot ask for camera access ahead (%s); macOS asks at the first open", error)
        return "unknown"
    capture_device, video = avfoundation.AVCaptureDevice, avfoundation.AVMediaTypeVideo
    status = int(capture_device.authorizationStatusForMediaType_(video))
    if status == _NOT_DETERMINED:
        capture_device.requestAccessForMediaType_completionHandler_(video, _on_access_answered)
        os.environ.setdefault(SKIP_OPENCV_AUTH_ENV, "1")  # OpenCV on a helper only fails asking
        return "asked"
    word = _STATUS_WORDS.get(status, "unknown")
    if status in (_DENIED, _RESTRICTED):
        log.warning("macOS does not let Backdrop use the camera (%s): allow it in %s, then "
                    "restart Backdrop", word, _SETTINGS_HINT)
    return word


def _on_access_answered(granted: bool) -> None:
    """Runs on an AVFoundation queue: it only logs; the pipeline's retry opens the camera."""
    if not granted:
        log.warning("camera access was refused: allow it in %s", _SETTINGS_HINT)
