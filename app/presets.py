"""Presets: named looks, switched in one step from the window, the tray, a shortcut or the CLI.

A preset is the look of the picture: the settings' `effect`, `mask` and `studio` sections. The
camera, the virtual camera and the window are not part of it (a preset never changes which
camera you use). "Work" and "Casual" come with Backdrop; your own are saved in `presets.toml`
beside the settings file, and one saved under a built-in's name replaces it.

A presets file that cannot be read is moved aside (its name says where), so saving a new
preset never overwrites what you had; a single bad preset in it is skipped with a message.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from app.settings import (
    EffectSettings,
    MaskSettings,
    Settings,
    SettingsError,
    StudioSettings,
    default_settings_path,
    settings_to_dict,
    tomllib,
    write_atomically,
)

PRESETS_FILENAME = "presets.toml"
SECTIONS = {"effect": EffectSettings, "mask": MaskSettings, "studio": StudioSettings}


@dataclass(frozen=True)
class Preset:
    name: str
    effect: EffectSettings
    mask: MaskSettings
    studio: StudioSettings
    built_in: bool = False

    @classmethod
    def of(cls, name: str, settings: Settings) -> Preset:
        """The look `settings` has now, under `name`."""
        return cls(name, settings.effect, settings.mask, settings.studio)

    def applied_to(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, effect=self.effect, mask=self.mask,
                                   studio=self.studio)

    def matches(self, settings: Settings) -> bool:
        return (self.effect, self.mask, self.studio) == (
            settings.effect, settings.mask, settings.studio)


def built_in_presets() -> list[Preset]:
    """Work: a calm blur, the face lit, only you. Casual: portrait blur, framing, touch-up."""
    base = Settings()
    work = Preset(
        "Work", base.effect, base.mask,
        StudioSettings(main_person=True, light=0.5), built_in=True,
    )
    casual = Preset(
        "Casual", dataclasses.replace(base.effect, blur_style="portrait"), base.mask,
        StudioSettings(framing="auto", light=0.5, touch_up=0.5, vignette=0.3), built_in=True,
    )
    return [work, casual]


def default_presets_path() -> Path:
    return default_settings_path().with_name(PRESETS_FILENAME)


@dataclass(frozen=True)
class PresetsLoad:
    presets: list[Preset]  # the built-ins (or yours in their place), then yours in order
    messages: list[str]


def load_presets(path: Path | None = None) -> PresetsLoad:
    path = default_presets_path() if path is None else path
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return PresetsLoad(built_in_presets(), [])
    except OSError as error:
        return PresetsLoad(built_in_presets(), [
            f"Could not read your presets from {path} ({error.strerror or error}); "
            "only the built-in presets are offered."])
    try:
        table = tomllib.loads(content.decode("utf-8")).get("presets", {})
        if not isinstance(table, dict):
            raise ValueError("'presets' is not a table")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as error:
        aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            path.replace(aside)
        except OSError as move_error:
            return PresetsLoad(built_in_presets(), [
                f"Your presets file {path} could not be read ({error}), nor moved aside "
                f"({move_error.strerror or move_error}); only the built-in presets are offered "
                "until you fix or remove it."])
        return PresetsLoad(built_in_presets(), [
            f"Your presets file could not be read ({error}). It was moved to {aside}, so "
            "nothing in it is lost; save your presets again, or fix that file and move it back."])
    mine, messages = [], []
    for name, sections in table.items():
        try:
            mine.append(_preset_from_table(str(name), sections))
        except (SettingsError, TypeError, ValueError) as error:
            messages.append(f"The preset '{name}' in {path} was skipped: {error}")
    return PresetsLoad(_merged(mine), messages)


def _preset_from_table(name: str, sections: Any) -> Preset:
    if not isinstance(sections, dict):
        raise ValueError("it is not a table of settings sections")
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown sections {sorted(unknown)} (a preset has {list(SECTIONS)})")
    values = {key: SECTIONS[key](**sections.get(key, {})) for key in SECTIONS}
    return Preset(name, values["effect"], values["mask"], values["studio"])


def _merged(mine: list[Preset]) -> list[Preset]:
    """The built-ins in their places (yours under a built-in's name, in any case, takes its
    place, so the shortcuts stay), then your others in order."""
    by_name = {preset.name.casefold(): preset for preset in mine}
    merged = [by_name.pop(built_in.name.casefold(), built_in) for built_in in built_in_presets()]
    return merged + [preset for preset in mine if preset.name.casefold() in by_name]


def save_presets(presets: list[Preset], path: Path | None = None) -> None:
    """Write your own presets (built-ins are not written); SettingsError says why it failed."""
    path = default_presets_path() if path is None else path
    table: dict[str, Any] = {}
    for preset in presets:
        if not preset.built_in:
            sections = settings_to_dict(preset.applied_to(Settings()))  # TOML-ready sections
            table[preset.name] = {key: sections[key] for key in SECTIONS}
    write_atomically(path, tomli_w.dumps({"presets": table}), "your presets")


def with_preset(presets: list[Preset], preset: Preset) -> list[Preset]:
    """`presets` with `preset` added, or replacing the one of its name (ignoring case, as
    `find_preset` does) in its place."""
    names = [p.name.casefold() for p in presets]
    if preset.name.casefold() in names:
        index = names.index(preset.name.casefold())
        return presets[:index] + [preset] + presets[index + 1:]
    return [*presets, preset]


def without_preset(presets: list[Preset], name: str) -> list[Preset]:
    """`presets` without your preset `name`; a built-in it replaced comes back."""
    wanted = name.casefold()
    return _merged([p for p in presets if not p.built_in and p.name.casefold() != wanted])


def find_preset(presets: list[Preset], name: str) -> Preset | None:
    """The preset called `name`, ignoring case."""
    wanted = name.casefold()
    return next((p for p in presets if p.name.casefold() == wanted), None)
