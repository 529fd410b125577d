"""Choosing effects and backgrounds: every file is checked before it is used or remembered.

A background that cannot be read is refused with a message naming the file, and the current
background stays. Checking decodes the file, as the engine will (a phone photo takes hundreds
of milliseconds), so it runs on a helper thread and the answer comes back as a queued signal;
the window never waits. The user's additions are remembered in `settings.gui.user_backgrounds`.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from app.engine.session import bundled_backgrounds
from app.gui.gallery import BackgroundGallery, is_video
from app.gui.store import SettingsStore
from app.settings import Settings
from compositing.backgrounds import BackgroundError
from compositing.files import load_background
from compositing.video import VideoBackground

log = logging.getLogger(__name__)
ShowError = Callable[[str], None]
IMAGE_FILTER = "Images and videos (*.jpg *.jpeg *.png *.webp *.bmp *.mp4 *.mov *.mkv *.webm *.avi)"
# What checking one file found: (path, 'image' or 'video', None) or (path, None, the reason).
CheckResult = tuple[str, str | None, str | None]


def check_background(path: str) -> str:
    """'image' or 'video' for a file the engine can use; BackgroundError (naming it) if not.

    Slow (it decodes the file): call it on a helper thread, as `BackgroundChecker` does.
    """
    background = load_background(path)
    try:
        return "video" if isinstance(background, VideoBackground) else "image"
    finally:
        background.close()


def _check_all(paths: list[str]) -> list[CheckResult]:
    results: list[CheckResult] = []
    for path in paths:
        try:
            results.append((path, check_background(path), None))
        except BackgroundError as error:
            results.append((path, None, str(error)))
        except Exception as error:  # a bug, but the window must still hear back
            log.exception("checking background %s failed", path)
            results.append((path, None, f"cannot read background '{path}': {error}."))
    return results


class BackgroundChecker(QObject):
    """Checks background files on its own helper thread, one request after another;
    `checked(token, results)` arrives on the Qt thread. `close()` joins the helper."""

    checked = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="backdrop-check-background"
        )
        self.latest_token = 0

    def check(self, paths: list[str]) -> int:
        """Start checking `paths`; the token that `checked` will carry for them."""
        self.latest_token += 1
        token = self.latest_token
        self._executor.submit(lambda: self.checked.emit(token, _check_all(paths)))
        return token

    def supersede(self) -> None:
        """The user chose something else: no answer on its way is the newest any more."""
        self.latest_token += 1

    def close(self) -> None:
        """Finish the check in progress (its answer is ignored), drop the rest, join."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def current_background(settings: Settings) -> str | None:
    """The file shown behind the person now, or None for none/blur/colour."""
    effect = settings.effect
    if effect.kind == "image":
        return effect.background or None
    if effect.kind == "video":
        return effect.video or None
    return None


class EffectChooser:
    """Applies effect and background choices to the store; reports problems through `show_error`.

    A background chosen or added takes effect once its check comes back; when the user chose
    again meanwhile, the newest choice wins (files added are still remembered).
    """

    def __init__(
        self, store: SettingsStore, gallery: BackgroundGallery, show_error: ShowError,
        parent: QObject | None = None,
    ) -> None:
        self._store = store
        self._gallery = gallery
        self._show_error = show_error
        self.checker = BackgroundChecker(parent)
        self.checker.checked.connect(self._on_checked, Qt.ConnectionType.QueuedConnection)
        self._adding: set[int] = set()  # tokens of checks for files being added
        self._closed = False
        self._last_effect = store.settings.effect.kind if store.settings.effect.kind != "none" \
            else "blur"
        self.refresh_gallery()

    @property
    def bundled(self) -> list[str]:
        return [str(path) for path in bundled_backgrounds()]

    def refresh_gallery(self) -> None:
        settings = self._store.settings
        self._gallery.set_backgrounds(self.bundled, list(settings.gui.user_backgrounds))
        self._gallery.show_current(current_background(settings))

    # --- effects ----------------------------------------------------------------------------
    def set_effect(self, kind: str) -> bool:
        """Switch to `kind`; image and video use the last (or first available) file. A
        background still being checked is not switched to afterwards."""
        self.checker.supersede()
        effect = self._store.settings.effect
        changes: dict[str, object] = {"kind": kind}
        if kind == "image" and (not effect.background or is_video(effect.background)):
            if not self.bundled:
                self._show_error("No background images were found. Add one with Add….")
                return False
            changes["background"] = self.bundled[0]
        if kind == "video" and not effect.video:
            videos = [p for p in self._store.settings.gui.user_backgrounds if is_video(p)]
            if not videos:
                self._show_error("Add a video first: click Add… under Background, or drop a "
                                 "video file on the window.")
                return False
            changes["video"] = videos[0]
        if kind != "none":
            self._last_effect = kind
        self._store.replace("effect", **changes)
        return True

    def toggle_effect(self) -> None:
        """Effect off (None), or back on to the last effect used."""
        if self._store.settings.effect.kind == "none":
            self.set_effect(self._last_effect)
        else:
            self.set_effect("none")

    # --- backgrounds ------------------------------------------------------------------------
    def choose_background(self, path: str) -> None:
        """Use `path` as the background once it is checked; if it cannot be read, say why and
        keep the current one."""
        self.checker.check([path])

    def add_backgrounds(self, paths: Iterable[str]) -> None:
        """Check, remember and show the readable files, then use the last one."""
        resolved = [str(Path(path).expanduser().resolve()) for path in paths]
        self._adding.add(self.checker.check(resolved))

    def _on_checked(self, token: int, results: list[CheckResult]) -> None:
        if self._closed:
            return
        newest = token == self.checker.latest_token
        readable: list[tuple[str, str]] = []
        for path, kind, problem in results:
            if kind is None:
                if newest or token in self._adding:
                    self._refuse(path, problem or "")
            else:
                readable.append((path, kind))
        if token in self._adding:
            self._adding.discard(token)
            self._remember([path for path, _kind in readable])
        if newest and readable:
            self._use(*readable[-1])

    def _remember(self, paths: list[str]) -> None:
        if not paths:
            return
        known = self._store.settings.gui.user_backgrounds
        kept = tuple(known) + tuple(p for p in paths if p not in known and p not in self.bundled)
        self._store.replace("gui", user_backgrounds=kept)
        self.refresh_gallery()

    def _use(self, path: str, kind: str) -> None:
        self._last_effect = kind
        field = "video" if kind == "video" else "background"
        self._store.replace("effect", kind=kind, **{field: path})
        self._gallery.show_current(path)

    def remove_background(self, path: str) -> None:
        """Forget a user background; if it is in use, fall back to the first bundled image."""
        settings = self._store.settings
        remaining = tuple(p for p in settings.gui.user_backgrounds if p != path)
        self._store.replace("gui", user_backgrounds=remaining)
        effect = settings.effect
        changes: dict[str, object] = {}
        if effect.background == path:
            changes["background"] = ""
        if effect.video == path:
            changes["video"] = ""
        if current_background(settings) == path:
            changes["kind"] = "image" if self.bundled else "blur"
            if self.bundled:
                changes["background"] = self.bundled[0]
        if changes:
            self._store.replace("effect", **changes)
        self.refresh_gallery()

    def _refuse(self, path: str, problem: str) -> None:
        self._show_error(f"Backdrop cannot use {Path(path).name} as a background: {problem} "
                         "The current background stays.")
        self._gallery.show_current(current_background(self._store.settings))

    def close(self) -> None:
        """Join the checking thread; answers still on their way are ignored."""
        self._closed = True
        self.checker.close()
