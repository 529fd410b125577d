"""Privacy: Backdrop itself opens no network connection and writes nothing outside its config
directory and the files the user names.

MediaPipe's native library sends usage metrics (a curl client inside libmediapipe.so; it shows
as a DNS lookup of play.googleapis.com): that is told apart here, and the README discloses it.
matplotlib (the plots; MediaPipe's drawing helpers, which Backdrop leaves unloaded) writes a
font cache, which Backdrop points into its own config directory (MPLCONFIGDIR), so it counts as
Backdrop's writing like any other.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.session import open_pipeline
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
OUR_PACKAGES = tuple(str(ROOT / package) + os.sep for package in ("app", "segmentation",
                                                                   "compositing"))
_NETWORK_CALLS = ("connect", "connect_ex", "sendto")


# --- in process: every Python-level connection attempt is recorded with its stack -------------
@dataclasses.dataclass
class Attempt:
    call: str
    stack: list[traceback.FrameSummary]

    @property
    def ours(self) -> bool:
        return any(frame.filename.startswith(OUR_PACKAGES) for frame in self.stack)


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[Attempt]:
    """Refuse and record every socket connection made from Python in this process."""
    attempts: list[Attempt] = []

    def recorder(call: str) -> Callable[..., Any]:
        def refuse(*_args: Any, **_kwargs: Any) -> Any:
            attempts.append(Attempt(call, traceback.extract_stack()[:-1]))
            raise OSError(f"the privacy test refused {call}")
        return refuse

    for call in _NETWORK_CALLS:
        monkeypatch.setattr(socket.socket, call, recorder(call))
    monkeypatch.setattr(socket, "create_connection", recorder("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", recorder("getaddrinfo"))
    return attempts


def test_the_recorder_sees_a_connection_made_from_our_code(network_attempts: list[Attempt]) -> None:
    import app.devices.sources

    with pytest.raises(OSError, match="refused"):
        exec(compile("import socket; socket.create_connection(('192.0.2.1', 9))",
                     app.devices.sources.__file__, "exec"))
    assert [attempt.call for attempt in network_attempts] == ["create_connection"]
    assert network_attempts[0].ours


def test_a_pipeline_run_makes_no_network_call_from_backdrops_code(
    tmp_path: Path, network_attempts: list[Attempt]
) -> None:
    settings = Settings()
    settings = dataclasses.replace(settings, source=dataclasses.replace(
        settings.source, spec="demo", width_px=320, height_px=240))
    pipeline = open_pipeline(settings, str(tmp_path / "out.mp4"), max_frames=10)
    try:
        assert pipeline.wait(60.0)
    finally:
        pipeline.stop()
    assert pipeline.error is None and (tmp_path / "out.mp4").stat().st_size > 0
    assert [a for a in network_attempts if a.ours] == []
    # MediaPipe's metrics go through its native curl client, not Python sockets: none here.
    assert network_attempts == []


# --- a real run in a subprocess, in an empty home directory ----------------------------------
def _strace_works() -> bool:
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(["strace", "-f", "-qq", "-e", "trace=none", "true"],
                           capture_output=True, check=False)
    return probe.returncode == 0


STRACE = _strace_works()
_WRITE = re.compile(r'^\d+ +(?:openat\(AT_FDCWD, |creat\(|mkdir\(|mkdirat\(AT_FDCWD, |'
                    r'rename(?:at2?)?\((?:AT_FDCWD, )?"[^"]*", (?:AT_FDCWD, )?)"([^"]+)"(.*)$')


@dataclasses.dataclass
class Run:
    root: Path
    result: subprocess.CompletedProcess[str]
    created: set[str]
    written_paths: set[str]


def _files_under(root: Path) -> set[str]:
    """Files and empty folders (a folder with something in it shows through its content)."""
    return {str(path.relative_to(root)) for path in root.rglob("*")
            if path.is_file() or not any(path.iterdir())}


def _environment(root: Path) -> dict[str, str]:
    home = root / "home"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("XDG_", "BACKDROP_", "MPL"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_STATE_HOME=str(home / ".local/state"), TMPDIR=str(root / "tmp"),
               PYTHONPATH=str(ROOT))
    return env


def _backdrop(root: Path, trace: list[str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "app.cli.main", "run", "--source", "demo", "--output",
               "out.mp4", "--frames", "10", "--size", "320x240", "--quiet"]
    return subprocess.run(trace + command, capture_output=True, text=True,
                          env=_environment(root), cwd=root / "cwd", timeout=180, check=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """`backdrop run` demo to a file, with every file it creates traced when strace works."""
    root = tmp_path_factory.mktemp("privacy")
    for folder in ("home", "cwd", "tmp"):
        (root / folder).mkdir()
    (root / "cwd" / "notes.txt").write_text("the user's own file")  # so no folder starts empty
    (root / "home" / ".profile").write_text("")
    (root / "tmp" / "other-app.tmp").write_text("")
    before = _files_under(root)
    log = root.parent / "privacy-files.strace"
    trace = ["strace", "-f", "-qq", "-e", "status=successful", "-o", str(log), "-e",
             "trace=openat,creat,mkdir,mkdirat,rename,renameat,renameat2"] if STRACE else []
    result = _backdrop(root, trace)
    written: set[str] = set()
    if STRACE:
        for line in log.read_text().splitlines():
            match = _WRITE.match(line)
            if match and ("openat" not in line or re.search(r"O_WRONLY|O_RDWR|O_CREAT", line)):
                written.add(match.group(1))
    yield Run(root, result, _files_under(root) - before, written)


def test_a_run_leaves_only_the_output_file_and_the_config_dir(run: Run) -> None:
    assert run.result.returncode == 0, run.result.stderr
    ours = set(run.created)
    unexpected = {p for p in ours - {"cwd/out.mp4"} if not p.startswith("home/.config/Backdrop/")}
    assert unexpected == set(), f"Backdrop left files outside its config dir: {unexpected}"
    assert "cwd/out.mp4" in run.created
    assert not any(path.startswith("tmp/") for path in run.created)  # temporary files removed


@pytest.mark.skipif(not STRACE, reason="strace is needed to see writes anywhere on disk")
def test_nothing_is_written_anywhere_else_on_disk(run: Run) -> None:
    inside = (str(run.root) + os.sep, "out.mp4")
    outside = {path for path in run.written_paths
               if not path.startswith(inside) and path not in ("/dev/null", "/dev/shm")}
    assert outside == set()


_INET = re.compile(r"^\d+ +(connect|sendto|sendmsg|sendmmsg)\(.*(AF_INET6?|sin6?_port|\\4play)")


@pytest.mark.skipif(not STRACE, reason="strace is needed to see native network calls")
def test_the_only_network_traffic_is_mediapipes_own_metrics(tmp_path: Path) -> None:
    for folder in ("home", "cwd", "tmp"):
        (tmp_path / folder).mkdir()
    log = tmp_path / "network.strace"
    result = _backdrop(tmp_path, ["strace", "-f", "-qq", "-k", "-s", "120", "-o", str(log),
                                  "-e", "trace=connect,sendto,sendmsg,sendmmsg"])
    assert result.returncode == 0, result.stderr
    calls: list[tuple[str, list[str]]] = []
    for line in log.read_text().splitlines():
        if _INET.match(line):
            calls.append((line, []))
        elif line.startswith(" > ") and calls:
            calls[-1][1].append(line)
    not_mediapipe = [call for call, stack in calls
                     if not any("libmediapipe.so" in frame for frame in stack)]
    assert not_mediapipe == [], "a network call that is not MediaPipe's metrics client"
    for _call, stack in calls:  # MediaPipe's calls come from its logging client
        assert any("logging" in frame for frame in stack)
