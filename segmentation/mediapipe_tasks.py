"""Import MediaPipe without the parts of its package Backdrop never uses.

`import mediapipe` runs `mediapipe.tasks.python`'s `__init__`, which imports every task: the
audio and text tasks, and the vision drawing helpers, which import matplotlib.pyplot. On a
2-core machine that was 0.3 s and 38 MB of memory before the first frame, for code Backdrop
never calls. Those modules are loaded lazily instead (`importlib.util.LazyLoader`): each loads in
full the first time anything reads one of its names, so nothing that uses them breaks.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

# Imported by MediaPipe's package __init__ files, never used by Backdrop. (The other vision
# tasks cannot wait: vision's __init__ reads a name from each of them.)
UNUSED_MODULES = frozenset({
    "mediapipe.tasks.python.audio",
    "mediapipe.tasks.python.decision",
    "mediapipe.tasks.python.retrieval",
    "mediapipe.tasks.python.text",
    "mediapipe.tasks.python.vision.drawing_styles",
    "mediapipe.tasks.python.vision.drawing_utils",
})
_install_lock = threading.Lock()


class _DeferUnused:
    """A meta-path finder: finds UNUSED_MODULES as the path finder does, with a loader that
    waits for first use. (A plain class: importlib.abc would import importlib.resources.)"""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in UNUSED_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def defer_unused_modules() -> None:
    """Make MediaPipe's unused modules lazy; call before anything imports `mediapipe`.

    Idempotent, and harmless once MediaPipe is imported (it then changes nothing).
    """
    with _install_lock:
        if not any(isinstance(finder, _DeferUnused) for finder in sys.meta_path):
            sys.meta_path.insert(0, _DeferUnused())
