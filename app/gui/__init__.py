"""Backdrop's PySide6 window. Importing this package makes the environment safe for Qt 6.

opencv-contrib's Linux wheel points QT_QPA_PLATFORM_PLUGIN_PATH (and the font dir) at the Qt 5
plugins it bundles, at `import cv2`. cv2 is imported here first, so that happens now, and the
variables are then removed before any module of this package imports PySide6.
"""

from __future__ import annotations

import cv2  # noqa: F401 - imported for its side effect on os.environ, undone just below

from app.gui.qtenv import clean_qt_environment

clean_qt_environment()
