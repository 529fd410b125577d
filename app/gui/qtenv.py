"""Keep Qt 6 away from the Qt 5 plugins that opencv-contrib's wheel bundles (no Qt import here)."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

QT_PATH_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_PLUGIN_PATH", "QT_QPA_FONTDIR")


def clean_qt_environment(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Remove Qt path variables that point into the cv2 package; return the names removed."""
    environ = os.environ if environ is None else environ
    removed = []
    for name in QT_PATH_VARIABLES:
        value = environ.get(name, "")
        parts = value.replace("\\", "/").split("/")
        if "cv2" in parts:
            del environ[name]
            removed.append(name)
    return removed
