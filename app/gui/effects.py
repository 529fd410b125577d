"""Choosing effects and backgrounds: every file is checked before it is used or remembered.

A background that cannot be read is refused with a message naming the file, and the current
background stays. The user's additions are remembered in `settings.gui.user_backgrounds`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from app.engine.session import bundled_backgrounds
from app.gui.gallery import BackgroundGallery, is_video
from app.gui.store import SettingsStore
from app.settings import Settings
from compositing.backgrounds import BackgroundError, VideoBackground, load_background

ShowError = Callable[[str], None]
IMAGE_FILTER = "Images and videos (*.jpg *.jpeg *.png *.webp *.bmp *.mp4 *.mov *.mkv *.webm *.avi)"


def check_background(path: str) -> str:
    """'image' or 'video' for a file the engine can use; BackgroundError (naming it) if not."""
    background = load_background(path)
    try:
        return "video" if isinstance(background, VideoBackground) else "image"
    finally:
        background.close()


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
    """

    def __init__(
        self, store: SettingsStore, gallery: BackgroundGallery, show_error: ShowError
    ) -> None:
        self._store = store
        self._gallery = gallery
        self._show_error = show_error
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
        """Switch to `kind`; image and video use the last (or first available) file."""
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
    def choose_background(self, path: str) -> bool:
        """Use `path` as the background if it can be read; otherwise say why and keep the old."""
        try:
            kind = check_background(path)
        except BackgroundError as error:
            self._refuse(path, error)
            return False
        self._last_effect = kind
        field = "video" if kind == "video" else "background"
        self._store.replace("effect", kind=kind, **{field: path})
        self._gallery.show_current(path)
        return True

    def add_backgrounds(self, paths: Iterable[str]) -> int:
        """Check, remember and show the readable files; use the last one. Returns how many."""
        added: list[str] = []
        for path in paths:
            path = str(Path(path).expanduser().resolve())
            try:
                check_background(path)
            except BackgroundError as error:
                self._refuse(path, error)
                continue
            added.append(path)
        if not added:
            return 0
        known = self._store.settings.gui.user_backgrounds
        kept = tuple(known) + tuple(p for p in added if p not in known and p not in self.bundled)
        self._store.replace("gui", user_backgrounds=kept)
        self.refresh_gallery()
        self.choose_background(added[-1])
        return len(added)

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

    def _refuse(self, path: str, error: BackgroundError) -> None:
        self._show_error(f"Backdrop cannot use {Path(path).name} as a background: {error} "
                         "The current background stays.")
        self._gallery.show_current(current_background(self._store.settings))
