"""The effect the compositor shows, following the settings, with background files loaded on a
helper thread: decoding a phone photo takes hundreds of milliseconds, and the frames must not
wait for it. The current effect stays on the output until the new file is ready.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from app.jobs import NewestJob
from app.settings import EffectSettings
from compositing.backgrounds import BackgroundError
from compositing.compositor import Compositor
from compositing.files import FileBackground
from compositing.video import VideoBackground

# Opens a background file: (path, 'image' or 'video') -> the loaded background.
BackgroundLoader = Callable[[str, str], FileBackground]
_FileKey = tuple[str, str]  # (kind, path) of a file background


class EffectSwitch:
    """Configures `compositor` as the settings ask; a file it does not show yet is loaded by
    `load` on a helper, and `take_loaded()` (once a frame, never waiting) swaps it in.

    The caller's thread owns the compositor; `close()` joins the helper.
    """

    def __init__(self, compositor: Compositor, load: BackgroundLoader) -> None:
        self._compositor = compositor
        self._load = load
        self._loads: NewestJob[_FileKey, FileBackground] = NewestJob(
            "backdrop-background", lambda key: load(key[1], key[0]),
            lambda background: background.close(),
        )
        self._asked: _FileKey | None = None  # the file asked for last (shown, loading, failed)
        self._effect = EffectSettings()
        self._edge_softness = 0.5

    def configure(self, effect: EffectSettings, edge_softness: float, *, now: bool) -> None:
        """Show `effect`. A new file loads on the helper while the current effect stays, with
        the new parameters; `now` loads it here (at start-up: no frames wait yet). Raises
        BackgroundError for a file loaded here, or none at all; the current effect stays."""
        self._effect, self._edge_softness = effect, edge_softness
        wanted = _file_of(effect)
        current = self._compositor.background
        try:
            if wanted is None or (current is not None and _key_of(current) == wanted):
                self._loads.cancel()
                self._asked = wanted
                self._apply(effect, current if wanted is not None else None)
                return
            if wanted != self._asked:  # a new file (a file that failed is not tried again)
                self._asked = wanted
                self._loads.cancel()
                if now or not wanted[1]:
                    self._apply(effect, self._load(wanted[1], wanted[0]) if wanted[1] else None)
                    return
                self._loads.request(wanted)
        except BackgroundError:
            self._keep_current()
            raise
        self._keep_current()

    def take_loaded(self, before_swap: Callable[[], None]) -> list[str]:
        """Swap in a file the helper finished, calling `before_swap` first (the compositor
        must be idle); messages for a file that could not be loaded. Never waits."""
        done = self._loads.poll()
        if done is None:
            return []
        loaded = done[1]
        if isinstance(loaded, BackgroundError):
            return [f"{loaded} The previous background stays."]
        if isinstance(loaded, Exception):
            raise loaded
        before_swap()
        self._apply(self._effect, loaded)
        return []

    def _keep_current(self) -> None:
        """The effect and background shown now, with the parameters asked for last."""
        kind = self._compositor.config.effect
        self._apply(dataclasses.replace(self._effect, kind=kind), self._compositor.background)

    def _apply(self, effect: EffectSettings, background: FileBackground | None) -> None:
        try:
            self._compositor.configure(
                effect=effect.kind,
                blur_strength=effect.blur,
                color_rgb=effect.color_rgb,
                background=background,
                light_wrap=effect.light_wrap,
                edge_softness=self._edge_softness,
                blur_style=effect.blur_style,
            )
        except BaseException:
            if background is not None and background is not self._compositor.background:
                background.close()  # the compositor did not take it
            raise

    def close(self) -> None:
        """Join the helper; a file it was loading is closed unused."""
        self._loads.close()


def _file_of(effect: EffectSettings) -> _FileKey | None:
    """(kind, path) of the file `effect` shows, or None for an effect without one."""
    if effect.kind == "image":
        return "image", effect.background
    if effect.kind == "video":
        return "video", effect.video
    return None


def _key_of(background: FileBackground) -> _FileKey:
    return ("video" if isinstance(background, VideoBackground) else "image"), background.path
