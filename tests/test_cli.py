"""The real `backdrop` command line, end to end, in a subprocess."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.devices.camera import DEV_DIR_ENV, SYSFS_VIDEO_DIR_ENV

ROOT = Path(__file__).resolve().parents[1]


def _env(config_dir: Path) -> dict[str, str]:
    """A private settings folder, and (on Linux) camera folders with no devices: every run sees
    the same cameras, none, whatever this machine has plugged in."""
    env = dict(os.environ)
    env["BACKDROP_CONFIG_DIR"] = str(config_dir)
    env["PYTHONPATH"] = str(ROOT)
    no_devices = config_dir.parent / "no-devices"
    env[DEV_DIR_ENV] = str(no_devices / "dev")
    env[SYSFS_VIDEO_DIR_ENV] = str(no_devices / "sys-class-video4linux")
    return env


def backdrop(tmp_path: Path, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args], capture_output=True, text=True,
        env=_env(tmp_path / "config"), cwd=tmp_path, timeout=timeout_s, check=False,
    )


def _frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def _size_of(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _assert_clear_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_run_writes_an_mp4_with_the_frames_asked_for(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "run", "--source", "demo", "--output", "out.mp4", "--frames",
                      "10", "--size", "640x360", "--effect", "blur")
    assert result.returncode == 0, result.stderr
    assert "wrote 10 frames" in result.stderr
    frames = _frames(tmp_path / "out.mp4")
    assert len(frames) == 10
    assert frames[0].shape == (360, 640, 3)


def test_run_with_a_colour_background_writes_that_colour_around_the_person(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "run", "--source", "demo", "--output", "out.y4m", "--frames", "4",
                      "--size", "640x360", "--effect", "color", "--color", "0,0,255")
    assert result.returncode == 0, result.stderr
    data = (tmp_path / "out.y4m").read_bytes()
    assert data.startswith(b"YUV4MPEG2 W640 H360")
    assert data.count(b"FRAME\n") == 4


def test_run_replaces_the_background_with_an_image(tmp_path: Path) -> None:
    background = np.zeros((90, 160, 3), np.uint8)
    background[:] = (255, 0, 0)  # blue, in BGR
    cv2.imwrite(str(tmp_path / "blue.png"), background)
    result = backdrop(tmp_path, "run", "--source", "demo", "--output", "out.mp4", "--frames", "3",
                      "--size", "640x360", "--background", "blue.png", "--light-wrap", "0")
    assert result.returncode == 0, result.stderr
    corner = _frames(tmp_path / "out.mp4")[-1][:30, :30].reshape(-1, 3).mean(axis=0)
    assert corner[0] > 200 and corner[1] < 40 and corner[2] < 40


def test_ctrl_c_stops_cleanly_and_the_file_plays(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "run", "--source", "demo", "--output", "out.mp4",
         "--size", "640x360", "--seconds", "60"],
        env=_env(tmp_path / "config"), cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline_s = time.monotonic() + 60
        target = tmp_path / "out.mp4"
        while time.monotonic() < deadline_s and _size_of(target) < 20000:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert len(_frames(target)) > 5


def test_a_missing_background_image_is_named(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "run", "--source", "demo", "--output", "null", "--frames", "2",
                      "--background", "holiday.jpg")
    _assert_clear_failure(result, "holiday.jpg")


def test_a_corrupt_background_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(os.urandom(3000))
    result = backdrop(tmp_path, "run", "--source", "demo", "--output", "null", "--frames", "2",
                      "--background", "broken.png")
    _assert_clear_failure(result, "broken.png")


def test_an_unreadable_video_source_is_named(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(os.urandom(5000))
    result = backdrop(tmp_path, "run", "--source", "clip.mp4", "--output", "null", "--frames", "2")
    _assert_clear_failure(result, "clip.mp4")


def test_a_file_that_is_not_a_model_is_named(tmp_path: Path) -> None:
    (tmp_path / "model.tflite").write_text("not a model")
    result = backdrop(tmp_path, "run", "--source", "demo", "--output", "null", "--frames", "2",
                      "--model", "model.tflite")
    _assert_clear_failure(result, "model.tflite", "not a TensorFlow Lite model")


def test_no_camera_suggests_the_demo_source(tmp_path: Path) -> None:
    """camera:7 is looked up in the empty device folder `_env` names, on any machine."""
    result = backdrop(tmp_path, "run", "--source", "camera:7", "--output", "null", "--frames", "2")
    _assert_clear_failure(result, "--source demo")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2loopback is Linux only")
def test_a_virtual_camera_as_the_source_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """Backdrop's own loopback device, in the device folders `_env` names, as --source."""
    sysfs, dev = tmp_path / "no-devices" / "sys-class-video4linux", tmp_path / "no-devices" / "dev"
    (sysfs / "video4").mkdir(parents=True)
    (sysfs / "video4" / "name").write_text("Backdrop\n")
    (sysfs / "video4" / "format").write_text("\n")
    dev.mkdir(parents=True)
    (dev / "video4").touch()
    result = backdrop(tmp_path, "run", "--source", "camera:4", "--output", "null", "--frames", "2")
    _assert_clear_failure(result, f"'camera:4' is {dev / 'video4'}, the virtual camera “Backdrop”",
                          "No real camera is connected now")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux driver message")
def test_no_virtual_camera_driver_gives_the_modprobe_fix(tmp_path: Path) -> None:
    """The loopback device Backdrop is told to use is in a folder with no devices, so this runs
    the same on a machine that has some."""
    missing = tmp_path / "no-devices" / "video0"
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_text(
        f"[output]\nbackend = 'v4l2loopback'\ndevice = '{missing}'\n"
        "[gui]\nfirst_run_notice_shown = true\n"
    )
    result = backdrop(tmp_path, "run", "--source", "demo", "--output", "virtualcam")
    _assert_clear_failure(result, "modprobe v4l2loopback", "exclusive_caps=1")


def test_bad_flag_values_are_refused_before_anything_starts(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "run", "--source", "demo", "--color", "300,0,0")
    _assert_clear_failure(result, "300,0,0")
    result = backdrop(tmp_path, "run", "--source", "demo", "--blur", "250", "--output", "null")
    _assert_clear_failure(result, "blur")


def test_devices_lists_cameras_and_virtual_camera_backends(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "devices")
    assert result.returncode == 0, result.stderr
    assert "Cameras:" in result.stdout
    assert "Virtual-camera backends:" in result.stdout
    if sys.platform.startswith("linux"):  # elsewhere cameras are whatever the OS names
        assert "Cameras:\n  none found" in result.stdout


def test_bench_reports_throughput_stages_cpu_and_memory(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "bench", "--size", "640x360", "--seconds", "1", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["frames"] > 0 and figures["fps"] > 0
    assert figures["peak_rss_mb"] > 0 and figures["cpu_percent_of_one_core"] > 0
    assert {"prepare", "composite", "sink"} <= set(figures["stage_ms_p50"])
    assert figures["output_size"] == "1280x720"  # what a meeting's virtual camera is sent


def test_bench_reports_the_pipelines_peak_memory_not_the_floor_measurements(
    tmp_path: Path,
) -> None:
    # The model floor is measured after the pipeline, with a demo and a model of its own: a
    # stand-in that touches 300 MB there must not show in the pipeline's peak RSS.
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from app.cli import bench\n"
        "from app.cli.main import main\n"
        "def floor(settings, size, paced_fps=None):\n"
        "    np.ones(300 * 2**20, np.uint8)\n"
        "    return 'landscape', 2.0, 2.0\n"
        "bench.measure_model_floor = floor\n"
        "main(['bench', '--size', '320x180', '--seconds', '0.5', '--json'])\n"
        "print(bench.peak_rss_mb_so_far())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=_env(tmp_path / "config"), cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    report, _, process_peak_mb = result.stdout.rstrip().rpartition("\n")
    figures = json.loads(report)
    assert 0 < figures["peak_rss_mb"] < float(process_peak_mb) - 250


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status")
def test_bench_peak_memory_is_its_own_not_that_of_the_process_that_started_it() -> None:
    # Linux's ru_maxrss keeps the peak of the image before exec: under a big parent (this test
    # runner holds 300 MB more here) a small child read it as its own.
    held = np.ones(300 * 2**20, np.uint8)
    code = "from app.cli.bench import peak_rss_mb_so_far\nprint(peak_rss_mb_so_far())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=60, check=True)
    assert float(result.stdout) < 200 and held[-1] == 1


def test_bench_studio_reports_every_studio_effect_and_the_face_detector(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "bench", "--size", "1280x720", "--seconds", "1", "--paced", "30",
                      "--studio", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert {"main_person", "denoise", "face", "light", "touch_up", "framing", "vignette"} <= set(
        figures["stage_ms_mean"])
    # A paced run's floor is the model fed at the same rate; back to back is reported beside it.
    assert figures["model_cpu_ms"] > 0 and figures["model_cpu_ms_back_to_back"] > 0
    assert figures["floor_ratio"] == pytest.approx(
        figures["cpu_ms_per_frame"] / figures["model_cpu_ms"])
    # The demo's own drawing is measured too, and the ratio without it is the smaller one.
    assert 0 < figures["source_cpu_ms"] < figures["cpu_ms_per_frame"]
    assert 0 < figures["floor_ratio_without_source"] < figures["floor_ratio"]


def test_setup_virtualcam_prints_the_commands(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "setup-virtualcam")
    assert result.returncode == 0
    if sys.platform.startswith("linux"):
        assert "modprobe v4l2loopback" in result.stdout
        assert "/etc/modprobe.d/" in result.stdout


def test_bench_draws_its_plot(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "bench", "--size", "640x360", "--seconds", "1", "--paced", "30",
                      "--plot", "bench.png")
    assert result.returncode == 0, result.stderr
    plot = cv2.imread(str(tmp_path / "bench.png"))
    assert plot is not None and plot.shape[1] > 800
    assert "latency" in result.stdout


def test_bench_plot_draws_the_stages_against_the_model_floor() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    from app.cli.bench_plot import _draw_floor

    result = dataclasses.make_dataclass("Result", ["model", "model_cpu_ms", "cpu_ms_per_frame",
                                                   "floor_ratio"])("landscape", 3.5, 10.5, 3.0)
    figure, axes = pyplot.subplots()
    _draw_floor(axes, result)
    labels = [line.get_label() for line in axes.get_lines()]
    pyplot.close(figure)
    assert labels[0].startswith("model floor 3.5 ms") and "3.00x the floor" in labels[1]


def test_without_a_display_the_bare_command_says_how_to_run_headless(tmp_path: Path) -> None:
    env = _env(tmp_path / "config")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-m", "app.cli.main"], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=60, check=False)
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux desktops can lack a display server")
    _assert_clear_failure(result, "no display found", "backdrop run --source demo")


def test_window_problem_is_silent_with_a_display_or_an_explicit_qt_platform() -> None:
    from app.cli.main import window_problem

    assert "no display" in window_problem({}, "linux")
    assert window_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") == ""
    assert window_problem({}, "win32") == ""


def test_quality_reports_figures_and_writes_pictures_a_person_can_look_at(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "quality", "--source", "demo", "--frames", "12", "--size",
                      "640x360", "--out", "q", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["frames"] == 12
    assert figures["raw_flicker"] > 0 and figures["edge_alignment"] > 0
    assert figures["lag_frames"] in range(6)
    strip = cv2.imread(str(tmp_path / "q" / "quality_strip.png"))
    assert strip is not None and strip.shape[1] > strip.shape[0]
    assert len(_frames(tmp_path / "q" / "quality.mp4")) == 12
    assert "12/12 frames" in result.stderr  # the progress bar reached the end


def test_quality_on_a_static_clip_does_not_claim_a_lag(tmp_path: Path) -> None:
    result = backdrop(tmp_path, "quality", "--source", "demo", "--static", "--frames", "8",
                      "--size", "640x360", "--out", "q")
    assert result.returncode == 0, result.stderr
    assert "n/a on a static clip" in result.stdout
    assert "flicker" in result.stdout


def test_the_first_run_says_once_what_mediapipe_sends(tmp_path: Path) -> None:
    args = ("run", "--source", "demo", "--output", "null", "--frames", "2", "--size", "640x360")
    first = backdrop(tmp_path, *args)
    second = backdrop(tmp_path, *args)
    assert first.returncode == 0 and second.returncode == 0
    assert "usage metrics" in first.stderr and "Google" in first.stderr
    assert "usage metrics" not in second.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses RLIMIT_FSIZE")
@pytest.mark.parametrize("name", ["full.y4m", "full.mp4"])
def test_a_file_that_cannot_be_written_fails_the_run_and_says_so(tmp_path: Path, name: str) -> None:
    import resource

    def small_file_limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

    result = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "run", "--source", "demo", "--output", name,
         "--frames", "150", "--size", "640x360"],
        capture_output=True, text=True, env=_env(tmp_path / "config"), cwd=tmp_path,
        timeout=120, check=False, preexec_fn=small_file_limit,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert name in result.stderr
    assert "wrote 150 frames" not in result.stderr


def test_a_video_file_into_a_file_is_processed_once_frame_by_frame(tmp_path: Path) -> None:
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter.fourcc(*"MJPG"), 10,
                             (320, 180))
    portrait = cv2.resize(cv2.imread(str(ROOT / "assets" / "demo" / "astronaut.png")), (180, 180))
    for shift in range(10):
        frame = np.full((180, 320, 3), 90, np.uint8)
        frame[:, 60 + shift:240 + shift] = portrait
        writer.write(frame)
    writer.release()
    result = backdrop(tmp_path, "run", "--source", "clip.avi", "--output", "out.mp4",
                      "--effect", "color", "--color", "0,0,255")
    assert result.returncode == 0, result.stderr
    frames = _frames(tmp_path / "out.mp4")
    assert len(frames) == 10
    assert frames[0].shape == (180, 320, 3)
    corner = frames[-1][:20, :20].reshape(-1, 3).mean(axis=0)
    assert corner[0] > 200 and corner[2] < 50  # --color is R,G,B: blue


def test_a_corrupt_model_saved_in_the_settings_falls_back_to_the_bundled_one(
    tmp_path: Path,
) -> None:
    from app.settings import Settings, save_settings

    broken = tmp_path / "mine.tflite"
    broken.write_bytes(b"TFL3" * 10)
    settings = Settings()
    settings = dataclasses.replace(settings, mask=dataclasses.replace(settings.mask,
                                                                       model=str(broken)))
    save_settings(settings, tmp_path / "config" / "settings.toml")
    result = backdrop(tmp_path, "run", "--source", "demo", "--output", "out.mp4", "--frames",
                      "3", "--size", "640x360")
    assert result.returncode == 0, result.stderr
    assert "mine.tflite" in result.stderr and "bundled model" in result.stderr
    assert len(_frames(tmp_path / "out.mp4")) == 3
