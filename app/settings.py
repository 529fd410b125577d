"""Backdrop's settings: one frozen, validated dataclass tree stored as TOML.

Change settings with `dataclasses.replace`. A bad settings file never crashes the app:
`load_settings` keeps what it can, backs the original up, and says what happened. A file from a
newer Backdrop is read for what this version understands and left in place; `save_settings`
keeps its newer schema_version and everything this version does not know, so going down a
version and back up loses nothing.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import platformdirs
import tomli_w

from compositing.blur import BLUR_STYLES
from compositing.compositor import EFFECTS
from compositing.fit import FITS
from compositing.framing import FRAMINGS
from segmentation.refine import REFINEMENTS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

SCHEMA_VERSION = 1
CONFIG_DIR_ENV = "BACKDROP_CONFIG_DIR"
SETTINGS_FILENAME = "settings.toml"


class SettingsError(ValueError):
    """A setting is invalid, or the settings file cannot be written; the message says which."""


def _fail(where: str, expected: str, value: object) -> SettingsError:
    return SettingsError(f"{where} must be {expected}, got {value!r}")


def _check_bool(where: str, value: object) -> None:
    if not isinstance(value, bool):
        raise _fail(where, "true or false", value)


def _check_str(where: str, value: object, non_empty: bool = False) -> None:
    if not isinstance(value, str) or (non_empty and not value):
        raise _fail(where, "a non-empty text" if non_empty else "a text", value)


def _check_int(where: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(where, f"a whole number from {low} to {high}", value)


def _check_choice(where: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise _fail(where, "one of " + ", ".join(choices), value)


def _coerce_number(section: object, name: str, where: str, low: float, high: float) -> None:
    """Accept ints for float fields (TOML `smoothing = 1`) and require low <= value <= high."""
    value = getattr(section, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise _fail(where, f"a number from {low:g} to {high:g}", value)
    object.__setattr__(section, name, float(value))


def _coerce_fraction(section: object, name: str, where: str) -> None:
    """A float field from 0 to 1."""
    _coerce_number(section, name, where, 0.0, 1.0)


def _coerce_tuple(section: object, name: str, where: str) -> tuple[Any, ...]:
    """Accept lists (as TOML gives them) for tuple fields, so the frozen tree stays hashable."""
    value = getattr(section, name)
    if not isinstance(value, (tuple, list)):
        raise _fail(where, "a list", value)
    value = tuple(value)
    object.__setattr__(section, name, value)
    return value


@dataclass(frozen=True)
class SourceSettings:
    """Where frames come from: `auto`, `demo`, `camera:N`, a device path or a video file."""

    SECTION: ClassVar[str] = "source"
    spec: str = "auto"
    width_px: int = 1280
    height_px: int = 720
    fps: int = 30

    def __post_init__(self) -> None:
        _check_str("source.spec", self.spec, non_empty=True)
        _check_int("source.width_px", self.width_px, 16, 7680)
        _check_int("source.height_px", self.height_px, 16, 4320)
        _check_int("source.fps", self.fps, 1, 120)


@dataclass(frozen=True)
class EffectSettings:
    """What replaces the background, and how strongly."""

    SECTION: ClassVar[str] = "effect"
    kind: str = "blur"
    blur: int = 60
    background: str = ""
    video: str = ""
    color_rgb: tuple[int, int, int] = (40, 120, 80)
    light_wrap: float = 0.15
    blur_style: str = "flat"

    def __post_init__(self) -> None:
        _check_choice("effect.kind", self.kind, EFFECTS)
        _check_choice("effect.blur_style", self.blur_style, BLUR_STYLES)
        _check_int("effect.blur", self.blur, 0, 100)
        _check_str("effect.background", self.background)
        _check_str("effect.video", self.video)
        color = _coerce_tuple(self, "color_rgb", "effect.color_rgb")
        if len(color) != 3:
            raise _fail("effect.color_rgb", "three numbers (red, green, blue)", color)
        for channel in color:
            _check_int("each of effect.color_rgb", channel, 0, 255)
        _coerce_fraction(self, "light_wrap", "effect.light_wrap")


@dataclass(frozen=True)
class MaskSettings:
    """Segmentation model choice and how the person mask is smoothed and refined."""

    SECTION: ClassVar[str] = "mask"
    model: str = "auto"
    smoothing: float = 0.7
    edge_softness: float = 0.4
    refinement: str = "fast"

    def __post_init__(self) -> None:
        _check_str("mask.model", self.model, non_empty=True)
        _coerce_fraction(self, "smoothing", "mask.smoothing")
        _coerce_fraction(self, "edge_softness", "mask.edge_softness")
        _check_choice("mask.refinement", self.refinement, REFINEMENTS)


@dataclass(frozen=True)
class OutputSettings:
    """Where the result goes; empty backend or device means "let pyvirtualcam choose".

    `mirror` mirrors the preview, as every self-view does; the meeting sees you unmirrored
    (text reads the right way round) unless `mirror_output` mirrors what is sent as well.
    The virtual camera keeps one size for the whole session (`width_px` x `height_px`):
    frames of another size are fitted into it (`fit`: letterbox or cover), never reopened.
    """

    SECTION: ClassVar[str] = "output"
    mirror: bool = True
    mirror_output: bool = False
    width_px: int = 1280
    height_px: int = 720
    fit: str = "letterbox"
    virtualcam: bool = True
    backend: str = ""
    device: str = ""

    def __post_init__(self) -> None:
        _check_bool("output.mirror", self.mirror)
        _check_bool("output.mirror_output", self.mirror_output)
        _check_int("output.width_px", self.width_px, 16, 7680)
        _check_int("output.height_px", self.height_px, 16, 4320)
        if self.width_px % 2 or self.height_px % 2:
            raise _fail("output size", "even numbers of pixels (video needs them)",
                        f"{self.width_px}x{self.height_px}")
        _check_choice("output.fit", self.fit, FITS)
        _check_bool("output.virtualcam", self.virtualcam)
        _check_str("output.backend", self.backend)
        _check_str("output.device", self.device)

    @property
    def preview_flipped(self) -> bool:
        """Whether the preview is the output flipped: a mirror of what the meeting sees."""
        return self.mirror != self.mirror_output


@dataclass(frozen=True)
class GuiSettings:
    """Window state the GUI remembers between runs."""

    SECTION: ClassVar[str] = "gui"
    geometry: str = ""
    user_backgrounds: tuple[str, ...] = ()
    first_run_notice_shown: bool = False
    split_view: bool = False

    def __post_init__(self) -> None:
        _check_str("gui.geometry", self.geometry)
        for path in _coerce_tuple(self, "user_backgrounds", "gui.user_backgrounds"):
            _check_str("each of gui.user_backgrounds", path)
        _check_bool("gui.first_run_notice_shown", self.first_run_notice_shown)
        _check_bool("gui.split_view", self.split_view)


@dataclass(frozen=True)
class StudioSettings:
    """Studio effects on the person and the output (issue 15); each is off at its default.

    Each effect's strength is 0..1 (0 = off). A new effect adds its field here, is validated
    below, and runs from `app/engine/studio.py`.
    """

    SECTION: ClassVar[str] = "studio"
    framing: str = "off"
    framing_zoom_max: float = 1.6
    main_person: bool = False
    vignette: float = 0.0
    light: float = 0.0
    touch_up: float = 0.0
    denoise: float = 0.0

    @property
    def follows_the_face(self) -> bool:
        """Whether an effect on uses the face detector (light, touch-up)."""
        return self.light > 0.0 or self.touch_up > 0.0

    def __post_init__(self) -> None:
        _check_choice("studio.framing", self.framing, FRAMINGS)
        _coerce_number(self, "framing_zoom_max", "studio.framing_zoom_max", 1.0, 3.0)
        _check_bool("studio.main_person", self.main_person)
        _coerce_fraction(self, "vignette", "studio.vignette")
        _coerce_fraction(self, "light", "studio.light")
        _coerce_fraction(self, "touch_up", "studio.touch_up")
        _coerce_fraction(self, "denoise", "studio.denoise")


SECTION_TYPES: dict[str, type] = {
    cls.SECTION: cls
    for cls in (SourceSettings, EffectSettings, MaskSettings, OutputSettings, StudioSettings,
                GuiSettings)
}


@dataclass(frozen=True)
class Settings:
    """Everything Backdrop remembers; frozen, so change it with `dataclasses.replace`."""

    schema_version: int = SCHEMA_VERSION
    source: SourceSettings = field(default_factory=SourceSettings)
    effect: EffectSettings = field(default_factory=EffectSettings)
    mask: MaskSettings = field(default_factory=MaskSettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    studio: StudioSettings = field(default_factory=StudioSettings)
    gui: GuiSettings = field(default_factory=GuiSettings)

    def __post_init__(self) -> None:
        if self.schema_version != SCHEMA_VERSION:
            raise _fail("schema_version", str(SCHEMA_VERSION), self.schema_version)
        for name, cls in SECTION_TYPES.items():
            if not isinstance(getattr(self, name), cls):
                raise _fail(name, f"a {cls.__name__}", getattr(self, name))


@dataclass
class LoadResult:
    """The settings to use, and messages for the user about anything that was repaired."""

    settings: Settings
    messages: list[str] = field(default_factory=list)


def default_settings_path() -> Path:
    """The settings file: `$BACKDROP_CONFIG_DIR/settings.toml`, else the user's config dir."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser() / SETTINGS_FILENAME
    return Path(platformdirs.user_config_dir("Backdrop", appauthor=False)) / SETTINGS_FILENAME


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """A TOML-ready dict (tuples become lists)."""
    result: dict[str, Any] = {"schema_version": settings.schema_version}
    for name in SECTION_TYPES:
        section = dataclasses.asdict(getattr(settings, name))
        result[name] = {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in section.items()
        }
    return result


def settings_from_dict(data: Mapping[str, Any]) -> Settings:
    """Strict inverse of `settings_to_dict`: any unknown or bad entry raises SettingsError."""
    settings, problems = _settings_from_dict_lenient(data)
    if problems:
        raise SettingsError("; ".join(problems))
    return settings


def _section_from_table(name: str, table: object, problems: list[str]) -> object:
    """Build one section from a TOML table, keeping each valid field and resetting bad ones."""
    cls = SECTION_TYPES[name]
    section = cls()
    if not isinstance(table, Mapping):
        problems.append(f"[{name}] must be a table, got {table!r}; all of it was reset")
        return section
    known = {f.name for f in dataclasses.fields(cls)}
    for key, value in table.items():
        if key not in known:
            problems.append(f"unknown setting {name}.{key} was ignored")
            continue
        try:
            section = dataclasses.replace(section, **{key: value})
        except SettingsError as error:
            default = getattr(section, key)
            problems.append(f"{error}; reset to the default {default!r}")
    return section


def _settings_from_dict_lenient(data: Mapping[str, Any]) -> tuple[Settings, list[str]]:
    """Build Settings from what is valid in `data`; the problems list says what was dropped."""
    problems: list[str] = []
    sections: dict[str, object] = {}
    for key, value in data.items():
        if key == "schema_version":
            continue
        if key in SECTION_TYPES:
            sections[key] = _section_from_table(key, value, problems)
        else:
            problems.append(f"unknown setting {key} was ignored")
    return Settings(**sections), problems  # type: ignore[arg-type]


def _version_problem(data: Mapping[str, Any]) -> str | None:
    """Why this file's schema_version cannot be read, or None (missing means current)."""
    version = data.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return f"schema_version must be a whole number from 1, got {version!r}"
    return None


def _newer_version(data: Mapping[str, Any]) -> int | None:
    """The schema_version of a file a newer Backdrop wrote, else None."""
    version = data.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        return version
    return None


def _newer_file_message(path: Path, version: int) -> str:
    return (
        f"{path} was written by a newer Backdrop (settings version {version}; this one reads up "
        f"to {SCHEMA_VERSION}). Backdrop uses the settings it understands and keeps the rest in "
        "the file, so the newer version still finds all of them."
    )


def _backup_path(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.bad-{stamp}")
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bad-{stamp}-{counter}")
        counter += 1
    return candidate


def _back_up(path: Path, content: bytes, move: bool) -> str:
    """Keep the bad file aside; return a sentence saying where (or that it could not be)."""
    backup = _backup_path(path)
    try:
        if move:
            os.replace(path, backup)
        else:
            backup.write_bytes(content)
    except OSError as error:
        return f"Backdrop could not keep a backup of {path} ({error})."
    return f"The original file was kept as {backup}."


def load_settings(path: Path | None = None) -> LoadResult:
    """Read the settings; never raises for a bad file: it returns defaults and says why."""
    path = default_settings_path() if path is None else path
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return LoadResult(Settings())
    except OSError as error:
        return LoadResult(Settings(), [f"Could not read the settings file {path} ({error}); "
                                       "using the default settings."])
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return _discard(path, content, f"it is not valid TOML ({error})")
    version_problem = _version_problem(data)
    if version_problem:
        return _discard(path, content, version_problem)
    settings, problems = _settings_from_dict_lenient(data)
    newer = _newer_version(data)
    if newer is not None:  # not repaired, not moved: save_settings keeps what is not read
        return LoadResult(settings, [_newer_file_message(path, newer)])
    if not problems:
        return LoadResult(settings)
    messages = [f"Settings file {path}: {problem}." for problem in problems]
    messages.append(_back_up(path, content, move=False))
    try:
        save_settings(settings, path)
    except SettingsError as error:
        messages.append(str(error))
    return LoadResult(settings, messages)


def _discard(path: Path, content: bytes, reason: str) -> LoadResult:
    """Move an unreadable file aside and fall back to defaults."""
    message = f"Backdrop could not use the settings file {path}: {reason}. Using the defaults."
    return LoadResult(Settings(), [message, _back_up(path, content, move=True)])


def _read_newer_file(path: Path) -> dict[str, Any] | None:
    """The contents of the settings file at `path` if a newer Backdrop wrote it, else None."""
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return data if _newer_version(data) is not None else None


def _merge_into_newer(newer: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The newer file with only the settings that differ from what was read from it changed.

    Its schema_version, unknown keys and sections, and values this version could not read stay
    as they are; a setting the user changed here is written.
    """
    as_read, _problems = _settings_from_dict_lenient(newer)
    ours, theirs = settings_to_dict(settings), settings_to_dict(as_read)
    merged = dict(newer)
    for name in SECTION_TYPES:
        changed = {key: value for key, value in ours[name].items()
                   if value != theirs[name][key]}
        if not changed:
            continue
        table = merged.get(name)
        merged[name] = {**(table if isinstance(table, Mapping) else {}), **changed}
    return merged


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically (temp file, fsync, rename) so a crash never leaves a half-written file.

    Over a file a newer Backdrop wrote, only the settings changed here are written (see
    `_merge_into_newer`).
    """
    path = default_settings_path() if path is None else path
    data = settings_to_dict(settings)
    newer = _read_newer_file(path)
    if newer is not None:
        data = _merge_into_newer(newer, settings)
    write_atomically(path, tomli_w.dumps(data), "the settings")


def write_atomically(path: Path, text: str, what: str) -> None:
    """Write `text` to `path` via a temp file, fsync and rename, so a crash never leaves a
    half-written file; SettingsError names `what` and says how to fix the folder."""
    temp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as temp_file:
            temp_file.write(text)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
        temp_name = None
    except OSError as error:
        raise SettingsError(
            f"Could not save {what} to {path} ({error.strerror or error}). "
            f"Check that the folder {path.parent} is writable, or set {CONFIG_DIR_ENV} "
            "to a folder that is."
        ) from error
    finally:
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)
