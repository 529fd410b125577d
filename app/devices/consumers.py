"""Whether any app is reading the virtual camera (Linux, v4l2loopback).

A meeting app opens the device node to read it; the kernel tells inotify about every open and
close of that node. `ConsumerWatch` counts the other processes that hold it open, re-counting
from /proc only when inotify says something changed, so asking every frame costs one
non-blocking read. Elsewhere (or when the node cannot be watched) nothing is known: None.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import struct
import sys
from pathlib import Path

log = logging.getLogger(__name__)

_IN_OPEN = 0x00000020
_IN_CLOSE_WRITE = 0x00000008
_IN_CLOSE_NOWRITE = 0x00000010
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_EVENT_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)
_READ_BYTES = 4096


def holders(device: Path, proc_dir: Path = Path("/proc"), own_pid: int | None = None
            ) -> list[tuple[int, str]]:
    """(pid, program name) of each other process with `device` open, from /proc/*/fd."""
    own_pid = os.getpid() if own_pid is None else own_pid
    target = os.path.realpath(device)
    found: list[tuple[int, str]] = []
    for entry in _pids(proc_dir):
        if entry == own_pid:
            continue
        fd_dir = proc_dir / str(entry) / "fd"
        try:
            links = [os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)]
        except OSError:  # gone, or another user's: meeting apps run as the user
            continue
        if target in links:
            found.append((entry, _program_name(proc_dir / str(entry))))
    return found


def _pids(proc_dir: Path) -> list[int]:
    try:
        return sorted(int(name) for name in os.listdir(proc_dir) if name.isdigit())
    except OSError:
        return []


def _program_name(process_dir: Path) -> str:
    try:
        return (process_dir / "comm").read_text().strip() or "?"
    except OSError:
        return "?"


class ConsumerWatch:
    """How many other processes have the device open, kept up to date by inotify."""

    def __init__(self, device: Path, proc_dir: Path = Path("/proc")) -> None:
        self.device = device
        self._proc_dir = proc_dir
        self._fd = _inotify_watch(device)
        self._count = len(holders(device, proc_dir))

    @property
    def watching(self) -> bool:
        return self._fd is not None

    def count(self) -> int | None:
        """Apps reading the device now; None when opens and closes cannot be seen."""
        if self._fd is None:
            return None
        if _drain(self._fd):
            self._count = len(holders(self.device, self._proc_dir))
        return self._count

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def watch_consumers(device: str) -> ConsumerWatch | None:
    """A watch on a v4l2loopback node (Linux), or None where consumers cannot be seen."""
    if not sys.platform.startswith("linux") or not device.startswith("/dev/video"):
        return None
    watch = ConsumerWatch(Path(device))
    if not watch.watching:
        return None
    return watch


def _inotify_watch(path: Path) -> int | None:
    """An inotify descriptor watching opens and closes of `path`, or None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    fd = int(libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC))
    if fd < 0:
        return None
    mask = _IN_OPEN | _IN_CLOSE_WRITE | _IN_CLOSE_NOWRITE
    if libc.inotify_add_watch(fd, os.fsencode(path), mask) < 0:
        log.debug("cannot watch %s: %s", path, os.strerror(ctypes.get_errno()))
        os.close(fd)
        return None
    return fd


def _drain(fd: int) -> bool:
    """Read every pending event without blocking; whether there were any."""
    seen = False
    while True:
        try:
            data = os.read(fd, _READ_BYTES)
        except BlockingIOError:
            return seen
        except OSError as error:
            if error.errno == errno.EINTR:
                continue
            return seen
        if not data:
            return seen
        seen = seen or len(data) >= _EVENT_HEADER.size
