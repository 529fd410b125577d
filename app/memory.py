"""Process-wide memory tuning for the frame threads."""

from __future__ import annotations

import ctypes
import sys

# glibc's mallopt() parameter number for the arena cap (malloc.h).
_M_ARENA_MAX = -8
# One arena: the pipeline's threads (source, pipeline, compositing, MediaPipe's) share it, so
# a frame freed by one thread is reused by the next that allocates one. Against two, bench
# --size 1920x1080 (unpaced) peaked at 233-235 MB instead of 249-252 MB, at the same CPU per
# frame (17.1-18.3 ms against 18.0-18.8 ms; three runs each, alternated, on 2 cores).
MALLOC_ARENAS = 1


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas; return whether the cap is in force.

    glibc gives each thread that allocates an arena of its own (up to eight per core), and each
    arena keeps the frames freed into it for reuse. With four threads passing 1080p frames
    along, that held 55 to 80 MB more than two shared arenas do, at the same frame rate
    (`backdrop bench --size 1920x1080`), and two held 16 MB more than one. Call it before any
    thread starts. Other C libraries are left alone.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))
