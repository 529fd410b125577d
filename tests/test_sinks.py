"""Sinks: the virtual camera through pyvirtualcam's real Camera, files that play back, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pyvirtualcam import camera as pyvirtualcam_camera

from app.devices.sinks import (
    FrameSink,
    NullSink,
    SinkError,
    VideoFileSink,
    VirtualCamSink,
    even_size,
    open_sink,
)
from app.devices.virtualcam_help import (
    MODPROBE_CONF_PATH,
    MODULES_LOAD_PATH,
    available_backends,
    linux_setup_commands,
    system_binary,
    virtualcam_fix,
)
from tests.vcam_backend import (  # noqa: F401 - the fixture is used by name
    DEFAULT_DEVICE,
    RECORDING_BACKEND,
    VcamRecorder,
    recording_vcam_fixture,
)

WIDTH_PX, HEIGHT_PX = 640, 360
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2loopback")


def _frame(bgr: tuple[int, int, int], width_px: int = WIDTH_PX, height_px: int = HEIGHT_PX
           ) -> np.ndarray:
    frame = np.empty((height_px, width_px, 3), np.uint8)
    frame[:] = bgr
    return frame


def _colour(index: int) -> tuple[int, int, int]:
    return (index * 8 % 256, 255 - index * 8 % 256, 100)


def test_even_size_rounds_down() -> None:
    assert even_size(641, 361) == (640, 360)
    assert even_size(1280, 720) == (1280, 720)


def test_virtual_camera_receives_bgr_frames_through_pyvirtualcam(
    recording_vcam: VcamRecorder,
) -> None:
    sink = VirtualCamSink(backend=RECORDING_BACKEND)
    sink.open(WIDTH_PX, HEIGHT_PX, 30)
    frames = [_frame(_colour(i)) for i in range(3)]
    frames[0][10:20, 30:40] = (0, 0, 255)  # a red patch: channel order must survive
    for frame in frames:
        sink.send(frame)
    sink.close()

    camera = recording_vcam.last
    assert (camera.width_px, camera.height_px, camera.fps) == (WIDTH_PX, HEIGHT_PX, 30)
    assert camera.pixel_format == "24BG"  # pyvirtualcam's code for BGR
    assert camera.frames_received == 3 and sink.frames_sent == 3
    assert camera.buffer_sizes == {WIDTH_PX * HEIGHT_PX * 3}
    assert camera.buffer_dtypes == {np.dtype(np.uint8)}
    for sent, received in zip(frames, camera.recent_frames, strict=True):
        np.testing.assert_array_equal(received, sent)
    assert camera.close_calls == 1


def test_virtual_camera_description_names_device_and_backend(
    recording_vcam: VcamRecorder,
) -> None:
    sink = VirtualCamSink(backend=RECORDING_BACKEND, device="/dev/video42")
    sink.open(WIDTH_PX, HEIGHT_PX, 30)
    assert sink.device == "/dev/video42"
    assert sink.description == f"virtual camera /dev/video42 ({RECORDING_BACKEND})"
    sink.close()
    assert VirtualCamSink(backend=RECORDING_BACKEND).device == ""


def test_frame_one_pixel_too_large_is_cropped(recording_vcam: VcamRecorder) -> None:
    sink = VirtualCamSink(backend=RECORDING_BACKEND)
    sink.open(*even_size(641, 361), 30)
    odd_frame = np.random.default_rng(1).integers(0, 256, (361, 641, 3), dtype=np.uint8)
    sink.send(odd_frame)
    sink.close()
    np.testing.assert_array_equal(recording_vcam.last.recent_frames[-1], odd_frame[:360, :640])
    assert recording_vcam.last.device() == DEFAULT_DEVICE


@pytest.mark.parametrize(
    "bad_frame",
    [_frame((0, 0, 0), 320, 180), np.zeros((HEIGHT_PX, WIDTH_PX), np.uint8),
     np.zeros((HEIGHT_PX, WIDTH_PX, 3), np.float32)],
    ids=["wrong-size", "grey", "float"],
)
def test_wrong_frames_are_rejected_naming_the_expected_size(
    recording_vcam: VcamRecorder, bad_frame: np.ndarray
) -> None:
    sink = VirtualCamSink(backend=RECORDING_BACKEND)
    sink.open(WIDTH_PX, HEIGHT_PX, 30)
    with pytest.raises(SinkError, match="uint8 BGR frames of 640x360"):
        sink.send(bad_frame)
    sink.close()
    assert recording_vcam.last.frames_received == 0


def test_odd_output_size_is_refused() -> None:
    with pytest.raises(SinkError, match="641x360 must be even"):
        NullSink().open(641, 360, 30)


def test_send_before_open_and_after_close_raise(recording_vcam: VcamRecorder) -> None:
    sink = VirtualCamSink(backend=RECORDING_BACKEND)
    with pytest.raises(SinkError, match="not open yet"):
        sink.send(_frame((1, 2, 3)))
    sink.open(WIDTH_PX, HEIGHT_PX, 30)
    sink.close()
    sink.close()
    with pytest.raises(SinkError, match="is closed"):
        sink.send(_frame((1, 2, 3)))
    assert recording_vcam.last.close_calls == 1


def test_driver_failure_on_open_explains_the_fix(recording_vcam: VcamRecorder) -> None:
    recording_vcam.fail_every_open(RuntimeError("device is busy"))
    with pytest.raises(SinkError) as caught:
        VirtualCamSink(backend=RECORDING_BACKEND).open(WIDTH_PX, HEIGHT_PX, 30)
    assert "device is busy" in str(caught.value)
    assert virtualcam_fix() in str(caught.value)


def test_driver_failure_while_sending_is_a_sink_error(recording_vcam: VcamRecorder) -> None:
    recording_vcam.fail_on_send(2)
    sink = VirtualCamSink(backend=RECORDING_BACKEND)
    sink.open(WIDTH_PX, HEIGHT_PX, 30)
    sink.send(_frame((1, 2, 3)))
    with pytest.raises(SinkError, match="stopped accepting frames: test backend"):
        sink.send(_frame((1, 2, 3)))
    sink.close()
    assert sink.frames_sent == 1


def test_unknown_backend_lists_the_available_ones() -> None:
    with pytest.raises(SinkError) as caught:
        VirtualCamSink(backend="nonesuch").open(WIDTH_PX, HEIGHT_PX, 30)
    assert "nonesuch" in str(caught.value)
    if sys.platform.startswith("linux"):
        assert "v4l2loopback" in str(caught.value)


@linux_only
def test_missing_v4l2loopback_device_tells_how_to_load_the_module(tmp_path: Path) -> None:
    sink = VirtualCamSink(backend="v4l2loopback", device=str(tmp_path / "video99"))
    with pytest.raises(SinkError) as caught:
        sink.open(WIDTH_PX, HEIGHT_PX, 30)
    message = str(caught.value)
    assert "video99" in message
    assert "modprobe v4l2loopback" in message
    assert "exclusive_caps=1" in message


class _NoLoopbackDevice:
    """pyvirtualcam's v4l2loopback backend on a machine without a loopback device (its words),
    so the test does not depend on which /dev/video* nodes this machine has."""

    def __init__(self, **_kwargs: object) -> None:
        raise RuntimeError(NO_LOOPBACK_DEVICE)


NO_LOOPBACK_DEVICE = ("No v4l2 loopback device found at /dev/video[0-99]. Did you run "
                      "'modprobe v4l2loopback'? See also pyvirtualcam's documentation.")


@pytest.fixture(name="no_loopback_device")
def no_loopback_device_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a v4l2loopback backend that finds no device (plus any a test registers after)."""
    monkeypatch.setattr(pyvirtualcam_camera, "BACKENDS", {"v4l2loopback": _NoLoopbackDevice})


@linux_only
def test_no_virtual_camera_at_all_tells_how_to_load_the_module(no_loopback_device: None) -> None:
    with pytest.raises(SinkError) as caught:
        open_sink("virtualcam").open(WIDTH_PX, HEIGHT_PX, 30)
    assert "No v4l2 loopback device found" in str(caught.value)
    assert "modprobe v4l2loopback" in str(caught.value)
    assert "exclusive_caps=1" in str(caught.value)


@pytest.mark.parametrize(("platform", "version"), [("win32", "OBS Studio 26"),
                                                   ("darwin", "OBS Studio 30")])
def test_windows_and_mac_are_told_to_start_the_obs_virtual_camera(
    platform: str, version: str
) -> None:
    fix = virtualcam_fix(platform)
    assert version in fix
    assert "Start Virtual Camera" in fix
    assert "Restart Backdrop" in fix
    assert ("system extension" in fix) == (platform == "darwin")


def test_linux_fix_names_packages_and_boot_files() -> None:
    fix = virtualcam_fix("linux")
    for needed in ("v4l2loopback-dkms", "akmod-v4l2loopback", MODULES_LOAD_PATH,
                   MODPROBE_CONF_PATH, 'card_label="Backdrop"'):
        assert needed in fix


def test_linux_setup_commands_load_now_and_write_the_boot_files(tmp_path: Path) -> None:
    modprobe, *writes = linux_setup_commands(
        find=lambda name: "/sbin/modprobe" if name == "modprobe" else system_binary(name)
    )
    assert modprobe[:2] == ["/sbin/modprobe", "v4l2loopback"]
    assert "exclusive_caps=1" in modprobe and "card_label=Backdrop" in modprobe
    written: dict[str, str] = {}
    for command in writes:  # run them, pointed at a temp dir instead of /etc
        target = next(p for p in (MODULES_LOAD_PATH, MODPROBE_CONF_PATH) if p in command[-1])
        local = tmp_path / Path(target).name.replace(".conf", f"-{len(written)}.conf")
        subprocess.run([*command[:-1], command[-1].replace(target, str(local))], check=True)
        written[target] = local.read_text()
    options = 'options v4l2loopback devices=1 exclusive_caps=1 card_label="Backdrop"\n'
    assert written == {MODULES_LOAD_PATH: "v4l2loopback\n", MODPROBE_CONF_PATH: options}


def test_available_backends_reports_what_works(
    no_loopback_device: None, recording_vcam: VcamRecorder
) -> None:
    report = {name: (usable, reason) for name, usable, reason in available_backends("linux")}
    assert report[RECORDING_BACKEND] == (True, f"works (device {DEFAULT_DEVICE})")
    assert report["v4l2loopback"] == (False, f"'v4l2loopback' backend: {NO_LOOPBACK_DEVICE}")
    assert recording_vcam.last.close_calls == 1


def test_available_backends_for_another_os_says_not_available() -> None:
    other = "darwin" if sys.platform != "darwin" else "win32"
    report = {name: (usable, reason) for name, usable, reason in available_backends(other)}
    assert report["obs"] == (False, "not available on this system")


def test_mp4_file_plays_back_with_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    sink = VideoFileSink(path)
    sink.open(WIDTH_PX, HEIGHT_PX, 30)
    for index in range(30):
        sink.send(_frame(_colour(index)))
    sink.close()

    capture = cv2.VideoCapture(str(path))
    decoded = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        decoded.append(frame)
    capture.release()
    assert len(decoded) == 30
    assert all(frame.shape == (HEIGHT_PX, WIDTH_PX, 3) for frame in decoded)
    centre = decoded[20][HEIGHT_PX // 2, WIDTH_PX // 2].astype(int)
    assert np.abs(centre - np.array(_colour(20))).max() <= 12


def _read_y4m(path: Path) -> tuple[str, list[np.ndarray]]:
    data = path.read_bytes()
    header, rest = data.split(b"\n", 1)
    tokens = dict((token[:1], token[1:]) for token in header.split(b" ")[1:])
    width_px, height_px = int(tokens[b"W"]), int(tokens[b"H"])
    frame_bytes = width_px * height_px * 3 // 2
    frames = []
    while rest:
        assert rest[:6] == b"FRAME\n"
        planes = np.frombuffer(rest[6:6 + frame_bytes], np.uint8)
        assert planes.size == frame_bytes, "truncated frame"
        frames.append(cv2.cvtColor(planes.reshape(height_px * 3 // 2, width_px),
                                   cv2.COLOR_YUV2BGR_I420))
        rest = rest[6 + frame_bytes:]
    return header.decode("ascii"), frames


def test_y4m_file_has_the_frames_and_colours_sent(tmp_path: Path) -> None:
    path = tmp_path / "out.y4m"
    sink = open_sink(str(path))
    sink.open(WIDTH_PX, HEIGHT_PX, 25)
    sent = [_frame(_colour(index)) for index in range(7)]
    sent[3][:, : WIDTH_PX // 2] = (255, 255, 255)  # left half white, right half coloured
    for frame in sent:
        sink.send(frame)
    sink.close()

    header, frames = _read_y4m(path)
    assert header == f"YUV4MPEG2 W{WIDTH_PX} H{HEIGHT_PX} F25:1 Ip A1:1 C420jpeg"
    assert len(frames) == 7
    assert all(frame.shape == (HEIGHT_PX, WIDTH_PX, 3) for frame in frames)
    for original, decoded in zip(sent, frames, strict=True):
        # Compare away from the white/colour boundary, where 4:2:0 chroma is shared.
        for x in (WIDTH_PX // 4, 3 * WIDTH_PX // 4):
            difference = decoded[HEIGHT_PX // 2, x].astype(int) - original[HEIGHT_PX // 2, x]
            assert np.abs(difference).max() <= 3


@pytest.mark.parametrize("name", ["out.mp4", "out.y4m"])
def test_missing_folder_is_named_in_the_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / "no-such-folder" / name
    with pytest.raises(SinkError) as caught:
        VideoFileSink(path).open(WIDTH_PX, HEIGHT_PX, 30)
    assert str(path) in str(caught.value)
    assert "does not exist" in str(caught.value)


@pytest.mark.parametrize("name", ["taken.mp4", "taken.y4m"])
def test_unwritable_file_path_is_named_in_the_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.mkdir()  # a folder where the file should go
    with pytest.raises(SinkError) as caught:
        VideoFileSink(path).open(WIDTH_PX, HEIGHT_PX, 30)
    assert str(path) in str(caught.value)


def test_open_sink_chooses_by_spec(tmp_path: Path) -> None:
    assert isinstance(open_sink("virtualcam", backend="x", device="/dev/video3"), VirtualCamSink)
    assert isinstance(open_sink("null"), NullSink)
    file_sink = open_sink(str(tmp_path / "Out.MP4"))
    assert isinstance(file_sink, VideoFileSink)
    assert file_sink.description == f"file {tmp_path / 'Out.MP4'}"
    with pytest.raises(SinkError, match=r"out\.avi.*\.mp4 or \.y4m"):
        open_sink("out.avi")


def test_null_sink_counts_frames() -> None:
    sink = NullSink()
    sink.open(WIDTH_PX, HEIGHT_PX, 30)
    for _ in range(4):
        sink.send(_frame((0, 0, 0)))
    sink.close()
    assert sink.frames_sent == 4


def test_every_sink_satisfies_the_protocol(tmp_path: Path) -> None:
    for sink in (NullSink(), VirtualCamSink(), VideoFileSink(tmp_path / "a.y4m")):
        assert isinstance(sink, FrameSink)
