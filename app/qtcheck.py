"""Check, before PySide6 is imported, that Linux has the system libraries Qt's window needs.

Without them Qt aborts with "Could not load the Qt platform plugin xcb", which tells a user
nothing about what to install. This module uses only the standard library, so `make run` can ask
it before the virtualenv exists: `python3 -m app.qtcheck` prints the install command and exits 1.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SystemLibrary:
    """A shared library Qt loads at run time, and the package that provides it per distribution."""

    soname: str
    apt_package: str
    dnf_package: str


QT_SYSTEM_LIBRARIES: tuple[SystemLibrary, ...] = (
    SystemLibrary("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    SystemLibrary("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    SystemLibrary("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    SystemLibrary("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    SystemLibrary("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    SystemLibrary("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    SystemLibrary("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    SystemLibrary("libEGL.so.1", "libegl1", "mesa-libEGL"),
    SystemLibrary("libGL.so.1", "libgl1", "mesa-libGL"),
    SystemLibrary("libfontconfig.so.1", "libfontconfig1", "fontconfig"),
    SystemLibrary("libdbus-1.so.3", "libdbus-1-3", "dbus-libs"),
)

LibraryFinder = Callable[[str], bool]


def library_loads(soname: str) -> bool:
    """True when the dynamic linker can load `soname`, exactly as Qt will at start-up."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def apt_install_command() -> str:
    """The one line that installs every library Qt needs on Debian and Ubuntu."""
    packages = " ".join(library.apt_package for library in QT_SYSTEM_LIBRARIES)
    return f"sudo apt-get install -y {packages}"


def dnf_install_command() -> str:
    """The one line that installs every library Qt needs on Fedora."""
    packages = " ".join(dict.fromkeys(lib.dnf_package for lib in QT_SYSTEM_LIBRARIES))
    return f"sudo dnf install -y {packages}"


def missing_qt_libraries(
    finder: LibraryFinder = library_loads, platform: str = sys.platform
) -> list[SystemLibrary]:
    """The Qt system libraries that cannot be loaded; always empty outside Linux."""
    if not platform.startswith("linux"):
        return []
    return [library for library in QT_SYSTEM_LIBRARIES if not finder(library.soname)]


def missing_libraries_message(missing: Sequence[SystemLibrary]) -> str:
    """What to tell the user: which libraries are missing and how to install them ('' if none)."""
    if not missing:
        return ""
    names = ", ".join(library.soname for library in missing)
    return (
        f"Backdrop's window needs system libraries that are not installed: {names}.\n"
        f"Debian/Ubuntu: {apt_install_command()}\n"
        f"Fedora:        {dnf_install_command()}\n"
        "Or run without a window: backdrop run --source demo --output out/demo.mp4 --seconds 5"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when Qt can start, 1 (with the install commands on stderr) when it cannot."""
    del argv  # no options
    message = missing_libraries_message(missing_qt_libraries(finder=library_loads))
    if message:
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
