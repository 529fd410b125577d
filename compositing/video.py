"""A looping video background, decoded on its own thread and played by the frames' clock.

Its position is the time since the first frame was asked for (`at_s`, the camera frame's
capture time), so a 30 fps background plays at 30 fps behind a 15 fps camera (two source
frames per output frame) and a 60 Hz output sees each source frame twice. The decoder thread
keeps only the frames the next output frames can need: the latest frame wins.
"""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from typing import NamedTuple

import cv2
import numpy as np

from compositing.backgrounds import VIDEO_HINT, BackgroundError, cover_fit, read_only, to_bgr_u8

# A frame due within this of the position counts as due (container timestamps are rounded).
_EPSILON_S = 1e-4
# A longer gap between two calls (the camera was lost, the source switched, time went back)
# is not played through: the background carries on from where it was.
_MAX_STEP_S = 1.0
# Decoded frames kept at most, whatever the rates (memory stays bounded).
_MAX_FRAMES = 8
# A file that cannot be read any more is tried again after this much play time.
_RETRY_S = 5.0
# Frame rates outside this range, as a file reports them, are not believed.
_PLAUSIBLE_FPS = (1.0, 240.0)
_DEFAULT_FPS = 30.0


class _Decoded(NamedTuple):
    play_s: float  # position on the play timeline, which keeps growing across loops
    frame_bgr: np.ndarray  # read-only; cover-fitted to the size last asked for, when known


class _Reader:
    """The file's frames in order, with their own timestamps in seconds from the start."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._capture = cv2.VideoCapture(path)
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        plausible = math.isfinite(fps) and _PLAUSIBLE_FPS[0] <= fps <= _PLAUSIBLE_FPS[1]
        self.interval_s = 1.0 / (fps if plausible else _DEFAULT_FPS)
        self.last_file_s = -1.0

    def read(self, decode: bool = True) -> tuple[float, np.ndarray | None] | None:
        """(file time, uint8 BGR frame) of the next frame, None at the end or when unreadable.

        `decode=False` skips the frame (its picture comes back as None) but keeps its time.
        """
        if not self._capture.isOpened():
            return None
        try:
            ok = self._capture.grab()
            image = self._capture.retrieve()[1] if ok and decode else None
        except cv2.error:
            return None
        if not ok or (decode and (image is None or image.size == 0)):
            return None
        stamp_s = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if not math.isfinite(stamp_s) or stamp_s <= self.last_file_s:  # no usable timestamps
            stamp_s = self.last_file_s + self.interval_s if self.last_file_s >= 0 else 0.0
        self.last_file_s = stamp_s
        return stamp_s, None if image is None else to_bgr_u8(image)

    def restart(self) -> None:
        """Back to the first frame: rewind, or reopen the file (some containers cannot seek)."""
        self.last_file_s = -1.0
        if self._capture.isOpened() and self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
            return
        self.reopen()

    def reopen(self) -> None:
        self.last_file_s = -1.0
        self._capture.release()
        self._capture = cv2.VideoCapture(self._path)

    def release(self) -> None:
        self._capture.release()


class VideoBackground:
    """A video file that plays in real time behind the person and loops forever.

    `frame(width_px, height_px, at_s)` never waits for decoding: it returns the newest frame
    decoded for that moment (repeating one while the decoder catches up). If the file goes bad
    while in use (deleted, truncated, overwritten), it keeps returning the last good frame,
    `problem` says why, and the file is tried again now and then. `close()` joins the decoder.
    """

    def __init__(self, path: str) -> None:
        self.path = str(path)
        if not os.path.exists(self.path):
            raise BackgroundError(f"cannot read background video '{self.path}': file not found.")
        if os.path.isdir(self.path):
            raise BackgroundError(
                f"cannot read background video '{self.path}': it is a folder. {VIDEO_HINT}"
            )
        self._reader = _Reader(self.path)
        first = self._reader.read()
        if first is None or first[1] is None:
            self._reader.release()
            raise BackgroundError(
                f"cannot read background video '{self.path}': it has no frames that can be "
                f"decoded (it may not be a video, or it is corrupt). {VIDEO_HINT}"
            )
        self._file_origin_s = first[0]  # some containers start later than zero
        self._condition = threading.Condition()
        self._frames: deque[_Decoded] = deque([_Decoded(0.0, read_only(first[1]))])
        self._loop_offset_s = 0.0
        self._last_at_s: float | None = None  # the frame thread's side: its last call,
        self._origin_s = 0.0  # the time play position 0 was (or would have been) shown,
        self._step_s = 0.0  # and the usual time between two calls
        self._shown = self._frames[0]  # the frame the last call returned
        self._position_s = 0.0  # where the last frame() call was on the play timeline
        self._wanted_s = 0.0  # where a frame() call is expected next (decode up to there)
        self._size: tuple[int, int] | None = None
        self._problem: str | None = None
        self._retry_at_s = 0.0
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def problem(self) -> str | None:
        """Why the file cannot be read any more (it shows its last frame), or None."""
        with self._condition:
            return self._problem

    # --- the frame thread's side ----------------------------------------------------------
    def frame(self, width_px: int, height_px: int, at_s: float) -> np.ndarray:
        """The frame due at `at_s` (seconds on any clock), cover-fitted (read-only)."""
        position_s, self._origin_s, self._step_s = self._position_for(at_s)
        self._last_at_s = at_s
        with self._condition:
            self._size = (width_px, height_px)
            self._position_s = position_s
            self._wanted_s = position_s + self._step_s  # the next call is probably a step on
            self._drop_passed(position_s)
            current = self._frames[0]
            self._condition.notify_all()
        self._start()
        if current.frame_bgr.shape[:2] != (height_px, width_px):
            fitted = _Decoded(current.play_s,
                              read_only(cover_fit(current.frame_bgr, width_px, height_px)))
            with self._condition:  # repeats of this frame need not be fitted again
                if self._frames[0] is current:
                    self._frames[0] = fitted
            current = fitted
        self._shown = current
        return current.frame_bgr

    def wait_until_decoded(self, at_s: float, timeout_s: float) -> bool:
        """Wait until the frame due at `at_s` is decoded (or the file is failing); for tests
        and benchmarks, which must not race the decoder. False if `timeout_s` passed first."""
        position_s = self._position_for(at_s)[0]
        with self._condition:
            self._wanted_s = max(self._wanted_s, position_s)
            self._condition.notify_all()
        self._start()
        with self._condition:
            return self._condition.wait_for(
                lambda: self._closed or self._covers(position_s) or self._holding(),
                timeout_s,
            )

    def _position_for(self, at_s: float) -> tuple[float, float, float]:
        """(play position, origin, step) for a call at `at_s`: the time since the first call,
        except that a gap longer than _MAX_STEP_S, or a step back in time, counts as one
        usual step: after the camera was lost, the background carries on where it was."""
        if self._last_at_s is None:
            return 0.0, at_s, 0.0
        step_s = at_s - self._last_at_s
        origin_s = self._origin_s
        if not 0.0 <= step_s <= _MAX_STEP_S:
            origin_s += step_s - self._step_s
            step_s = self._step_s
        return at_s - origin_s, origin_s, step_s

    def _start(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(
                target=self._decode_loop, name="backdrop-video-decoder", daemon=True
            )
            self._thread.start()

    # --- shared state (call with the condition held) ----------------------------------------
    def _drop_passed(self, keep_from_s: float) -> None:
        """Forget frames whose successor is due by `keep_from_s`; the first one left is the
        frame for that moment."""
        while len(self._frames) > 1 and self._frames[1].play_s <= keep_from_s + _EPSILON_S:
            self._frames.popleft()

    def _covers(self, position_s: float) -> bool:
        """Whether the frame due at `position_s` is known: a later one is decoded too."""
        return self._frames[-1].play_s > position_s + _EPSILON_S

    def _holding(self) -> bool:
        """The file is failing and it is not yet time to try it again."""
        return self._problem is not None and self._position_s < self._retry_at_s

    def _has_work(self) -> bool:
        if self._closed:
            return True
        if self._problem is not None:
            return not self._holding()
        return len(self._frames) < _MAX_FRAMES and not self._covers(self._wanted_s)

    # --- the decoder thread -----------------------------------------------------------------
    def _decode_loop(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(self._has_work)
                if self._closed:
                    return
                retrying = self._problem is not None
                size = self._size
                skip = self._will_pass_unseen()
            decoded = self._retry(size) if retrying else self._decode_next(size, skip)
            with self._condition:
                if decoded is not None and not self._closed:
                    self._frames.append(decoded)
                    # Frames before the next call's moment will never be shown.
                    self._drop_passed(max(self._position_s, self._wanted_s))
                self._condition.notify_all()

    def _will_pass_unseen(self) -> bool:
        """Whether the next frame is passed before anyone sees it (decoding fell behind):
        the one after it is due already. Such a frame is read but not converted or fitted."""
        reader = self._reader
        if reader.last_file_s < 0:
            return False
        last_play_s = self._loop_offset_s + reader.last_file_s - self._file_origin_s
        return last_play_s + 2 * reader.interval_s <= self._position_s + _EPSILON_S

    def _decode_next(self, size: tuple[int, int] | None, skip: bool) -> _Decoded | None:
        """The next frame on the play timeline, looping at the end; None if skipped or the
        file cannot be read any more (then `problem` says why)."""
        item = self._reader.read(decode=not skip)
        if item is None:
            self._loop()
            item = self._reader.read()
        if item is None:  # some containers cannot seek back: open the file again
            self._reader.reopen()
            item = self._reader.read()
        if item is None:
            self._fail()
            return None
        return self._decoded(item, size)

    def _loop(self) -> None:
        """Rewind; the play timeline goes on (whole loops the decoder fell behind are skipped)."""
        reader = self._reader
        duration_s = max(reader.last_file_s - self._file_origin_s + reader.interval_s,
                         reader.interval_s)
        self._loop_offset_s += duration_s
        with self._condition:
            behind_s = self._position_s - self._loop_offset_s
        if behind_s > duration_s:
            self._loop_offset_s += math.floor(behind_s / duration_s) * duration_s
        reader.restart()

    def _fail(self) -> None:
        with self._condition:
            self._problem = (
                f"background video '{self.path}' cannot be read any more ({_why(self.path)}); "
                "Backdrop keeps its last frame and tries the file again every few seconds."
            )
            self._retry_at_s = self._position_s + _RETRY_S

    def _retry(self, size: tuple[int, int] | None) -> _Decoded | None:
        """Open the file again; on success it plays from its start, from now on."""
        self._reader.reopen()
        item = self._reader.read()
        if item is None or item[1] is None:
            self._fail()
            return None
        with self._condition:
            self._problem = None
            self._loop_offset_s = self._position_s
            self._file_origin_s = item[0]
        return self._decoded(item, size)

    def _decoded(
        self, item: tuple[float, np.ndarray | None], size: tuple[int, int] | None
    ) -> _Decoded | None:
        file_s, image_bgr = item
        if image_bgr is None:
            return None
        if size is not None:
            image_bgr = cover_fit(image_bgr, *size)
        return _Decoded(self._loop_offset_s + file_s - self._file_origin_s, read_only(image_bgr))

    def close(self) -> None:
        """Stop and join the decoder; frame() keeps returning the last frame afterwards."""
        with self._condition:
            self._closed = True
            self._frames = deque([self._shown])  # from now on, only the frame shown last
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join()
        self._reader.release()


def _why(path: str) -> str:
    """A short reason a file that used to work cannot be read now."""
    if not os.path.exists(path):
        return "the file was deleted or moved"
    if os.path.getsize(path) == 0:
        return "the file is empty now"
    return "the file is damaged or was replaced by something that is not a video"
