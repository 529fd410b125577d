"""The process-wide malloc arena cap that keeps 1080p frames from piling up per thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.memory import MALLOC_ARENAS

REPO_ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter: starts `backdrop --help` (or nothing), then six threads that
# allocate frame-sized arrays at once, and prints how many malloc heaps glibc made.
_COUNT_HEAPS = textwrap.dedent(
    """
    import ctypes, os, re, sys, tempfile, threading
    import numpy as np
    if sys.argv[1] == "backdrop":
        from app.cli.main import main
        try:
            main(["--help"])
        except SystemExit:
            pass

    def churn():
        for _ in range(300):
            frame = np.ones(6_220_800, np.uint8)  # one 1080p BGR frame
            del frame

    threads = [threading.Thread(target=churn) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    libc = ctypes.CDLL(None)
    libc.fdopen.restype = ctypes.c_void_p
    with tempfile.TemporaryFile("w+") as report:
        stream = ctypes.c_void_p(libc.fdopen(os.dup(report.fileno()), b"w"))
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        report.seek(0)
        print(len(re.findall("<heap nr=", report.read())))
    """
)


def _heaps(mode: str) -> int:
    completed = subprocess.run(
        [sys.executable, "-c", _COUNT_HEAPS, mode], cwd=REPO_ROOT, capture_output=True,
        text=True, timeout=120, check=True,
    )
    return int(completed.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_backdrop_caps_malloc_arenas_so_frame_threads_share_them() -> None:
    assert _heaps("backdrop") <= MALLOC_ARENAS


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_without_the_cap_frame_threads_make_arenas_of_their_own() -> None:
    # The control: the same churn in a plain interpreter spreads over more heaps, so the test
    # above measures the cap rather than a machine that never makes a second arena.
    assert _heaps("plain") > 2
