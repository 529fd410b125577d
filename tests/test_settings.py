"""Settings: validation messages, TOML round trip, and what a user sees when the file is bad."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app import settings as settings_module
from app.settings import (
    EffectSettings,
    GuiSettings,
    MaskSettings,
    OutputSettings,
    Settings,
    SettingsError,
    SourceSettings,
    default_settings_path,
    load_settings,
    save_settings,
    settings_from_dict,
    settings_to_dict,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the default settings location at a temp dir so no test touches the real home."""
    directory = tmp_path / "config"
    monkeypatch.setenv("BACKDROP_CONFIG_DIR", str(directory))
    return directory


def _customised() -> Settings:
    base = Settings()
    return dataclasses.replace(
        base,
        source=dataclasses.replace(base.source, spec="camera:1", width_px=640, fps=15),
        effect=dataclasses.replace(
            base.effect, kind="color", blur=25, color_rgb=(1, 2, 3), light_wrap=0.5,
            background="/home/me/beach.jpg",
        ),
        mask=dataclasses.replace(base.mask, model="landscape", smoothing=0.2, refinement="best"),
        output=dataclasses.replace(base.output, mirror=False, backend="v4l2loopback",
                                   device="/dev/video10"),
        gui=dataclasses.replace(
            base.gui, geometry="AdnQywAD", user_backgrounds=("/a.png", "/b.jpg"),
            first_run_notice_shown=True, split_view=True,
        ),
    )


def _backups(directory: Path) -> list[Path]:
    return sorted(directory.glob("settings.toml.bad-*"))


def test_default_path_follows_the_config_dir_override(config_dir: Path) -> None:
    assert default_settings_path() == config_dir / "settings.toml"


def test_saved_settings_load_back_identical(config_dir: Path) -> None:
    original = _customised()
    save_settings(original)
    result = load_settings()
    assert result.settings == original
    assert result.messages == []
    assert (config_dir / "settings.toml").read_text().startswith("schema_version = 1")


def test_missing_file_gives_defaults_silently_and_creates_nothing(config_dir: Path) -> None:
    result = load_settings()
    assert result.settings == Settings()
    assert result.messages == []
    assert not config_dir.exists()


def test_settings_are_frozen_and_changed_with_replace() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.effect.blur = 10  # type: ignore[misc]
    changed = dataclasses.replace(settings, effect=dataclasses.replace(settings.effect, blur=10))
    assert changed.effect.blur == 10 and settings.effect.blur == 60


def test_lenient_types_are_normalised() -> None:
    """TOML gives lists and whole numbers; the tree stores tuples and floats."""
    effect = EffectSettings(color_rgb=[10, 20, 30], light_wrap=1)  # type: ignore[arg-type]
    assert effect.color_rgb == (10, 20, 30)
    assert isinstance(effect.light_wrap, float)
    gui = GuiSettings(user_backgrounds=["/x.png"])  # type: ignore[arg-type]
    assert gui.user_backgrounds == ("/x.png",)
    hash(Settings(effect=effect, gui=gui))


INVALID: list[tuple[Callable[[], object], str, str]] = [
    (lambda: SourceSettings(spec=""), "source.spec", "non-empty"),
    (lambda: SourceSettings(width_px=8), "source.width_px", "from 16 to 7680"),
    (lambda: SourceSettings(height_px=5000), "source.height_px", "from 16 to 4320"),
    (lambda: SourceSettings(fps=0), "source.fps", "from 1 to 120"),
    (lambda: SourceSettings(fps=30.0), "source.fps", "whole number"),  # type: ignore[arg-type]
    (lambda: SourceSettings(fps=True), "source.fps", "whole number"),
    (lambda: EffectSettings(kind="sparkles"), "effect.kind", "none, blur, image, color, video"),
    (lambda: EffectSettings(blur=101), "effect.blur", "from 0 to 100"),
    (lambda: EffectSettings(blur=-1), "effect.blur", "from 0 to 100"),
    (lambda: EffectSettings(background=3), "effect.background", "text"),  # type: ignore[arg-type]
    (lambda: EffectSettings(video=None), "effect.video", "text"),  # type: ignore[arg-type]
    (lambda: EffectSettings(color_rgb=(1, 2)), "effect.color_rgb", "three numbers"),  # type: ignore[arg-type]
    (lambda: EffectSettings(color_rgb=(1, 2, 300)), "effect.color_rgb", "from 0 to 255"),
    (lambda: EffectSettings(color_rgb="green"), "effect.color_rgb", "a list"),  # type: ignore[arg-type]
    (lambda: EffectSettings(light_wrap=1.5), "effect.light_wrap", "from 0 to 1"),
    (lambda: MaskSettings(model=""), "mask.model", "non-empty"),
    (lambda: MaskSettings(smoothing=-0.1), "mask.smoothing", "from 0 to 1"),
    (lambda: MaskSettings(edge_softness=float("nan")), "mask.edge_softness", "from 0 to 1"),
    (lambda: MaskSettings(smoothing="high"), "mask.smoothing", "from 0 to 1"),  # type: ignore[arg-type]
    (lambda: MaskSettings(refinement="ultra"), "mask.refinement", "off, fast, best"),
    (lambda: OutputSettings(mirror="yes"), "output.mirror", "true or false"),  # type: ignore[arg-type]
    (lambda: OutputSettings(virtualcam=1), "output.virtualcam", "true or false"),  # type: ignore[arg-type]
    (lambda: OutputSettings(backend=None), "output.backend", "text"),  # type: ignore[arg-type]
    (lambda: OutputSettings(device=0), "output.device", "text"),  # type: ignore[arg-type]
    (lambda: GuiSettings(geometry=b"x"), "gui.geometry", "text"),  # type: ignore[arg-type]
    (lambda: GuiSettings(user_backgrounds=("/a", 2)), "gui.user_backgrounds", "text"),  # type: ignore[arg-type]
    (lambda: GuiSettings(first_run_notice_shown=0), "gui.first_run_notice_shown", "true or false"),  # type: ignore[arg-type]
    (lambda: GuiSettings(split_view="no"), "gui.split_view", "true or false"),  # type: ignore[arg-type]
    (lambda: Settings(schema_version=2), "schema_version", "1"),
    (lambda: Settings(effect=MaskSettings()), "effect", "EffectSettings"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("build", "field_name", "allowed"), INVALID, ids=[i[1] for i in INVALID])
def test_invalid_values_are_rejected_naming_the_field_and_range(
    build: Callable[[], object], field_name: str, allowed: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        build()
    message = str(caught.value)
    assert field_name in message
    assert allowed in message


def test_settings_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="effect.blur"):
        EffectSettings(blur=500)


def test_corrupt_file_is_kept_aside_and_defaults_are_used(config_dir: Path) -> None:
    config_dir.mkdir()
    path = config_dir / "settings.toml"
    path.write_text("[effect\nblur = 10\n")
    result = load_settings()
    assert result.settings == Settings()
    [backup] = _backups(config_dir)
    assert backup.read_text() == "[effect\nblur = 10\n"
    text = "\n".join(result.messages)
    assert "not valid TOML" in text
    assert str(backup) in text
    assert not path.exists()


NEWER_FILE = """\
schema_version = 7
theme = "dark"

[effect]
kind = "image"
background = "/home/me/beach.jpg"
blur = 150
sparkle = 0.5

[mask]
smoothing = 0.3

[future]
depth = true
"""


def test_a_file_from_a_newer_version_is_read_and_left_in_place(config_dir: Path) -> None:
    config_dir.mkdir()
    path = config_dir / "settings.toml"
    path.write_text(NEWER_FILE)
    result = load_settings()
    assert result.settings.effect.kind == "image"
    assert result.settings.effect.background == "/home/me/beach.jpg"
    assert result.settings.mask.smoothing == 0.3
    assert result.settings.effect.blur == EffectSettings().blur, "150 is out of this one's range"
    [message] = result.messages
    assert f"{path} was written by a newer Backdrop" in message
    assert "version 7" in message and "keeps the rest" in message
    assert _backups(config_dir) == [], "nothing is moved aside"
    assert path.read_text() == NEWER_FILE


def test_saving_over_a_newer_file_keeps_its_version_and_what_this_one_does_not_know(
    config_dir: Path,
) -> None:
    config_dir.mkdir()
    path = config_dir / "settings.toml"
    path.write_text(NEWER_FILE)
    loaded = load_settings().settings
    changed = dataclasses.replace(loaded, mask=dataclasses.replace(loaded.mask, smoothing=0.9))
    save_settings(changed)

    saved = tomllib.loads(path.read_text())
    assert saved["schema_version"] == 7, "so the newer version finds its settings"
    assert saved["theme"] == "dark" and saved["future"] == {"depth": True}
    assert saved["effect"] == {"kind": "image", "background": "/home/me/beach.jpg",
                               "blur": 150, "sparkle": 0.5}, "unchanged, unread values included"
    assert saved["mask"] == {"smoothing": 0.9}, "the one change made here"
    again = load_settings()
    assert again.settings == changed
    assert _backups(config_dir) == []


@pytest.mark.parametrize("version", ["0", "'one'", "true"])
def test_nonsense_schema_version_is_kept_aside(config_dir: Path, version: str) -> None:
    config_dir.mkdir()
    (config_dir / "settings.toml").write_text(f"schema_version = {version}\n")
    result = load_settings()
    assert result.settings == Settings()
    assert "schema_version" in result.messages[0]
    assert len(_backups(config_dir)) == 1


def test_one_bad_field_keeps_the_users_other_choices(config_dir: Path) -> None:
    original = _customised()
    save_settings(original)
    path = config_dir / "settings.toml"
    broken_text = path.read_text().replace("blur = 25", "blur = 250")
    path.write_text(broken_text)

    result = load_settings()

    expected = dataclasses.replace(original, effect=dataclasses.replace(original.effect, blur=60))
    assert result.settings == expected
    text = "\n".join(result.messages)
    assert "effect.blur" in text and "250" in text and "reset to the default 60" in text
    [backup] = _backups(config_dir)
    assert backup.read_text() == broken_text
    assert str(backup) in text
    # The repaired file is written back, so the next start is clean and keeps the choices.
    again = load_settings()
    assert again.settings == expected and again.messages == []


def test_unknown_keys_are_ignored_with_a_message(config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "settings.toml").write_text(
        "schema_version = 1\nfuture = 3\n[effect]\nblurr = 10\nkind = 'image'\n[plugins]\nx = 1\n"
    )
    result = load_settings()
    assert result.settings.effect.kind == "image"
    text = "\n".join(result.messages)
    assert "effect.blurr" in text and "future" in text and "plugins" in text
    assert len(_backups(config_dir)) == 1


def test_a_section_that_is_not_a_table_is_reset(config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "settings.toml").write_text("effect = 5\n[mask]\nsmoothing = 0.25\n")
    result = load_settings()
    assert result.settings.effect == EffectSettings()
    assert result.settings.mask.smoothing == 0.25
    assert "[effect] must be a table" in result.messages[0]


def test_unreadable_location_gives_defaults_and_says_so(config_dir: Path) -> None:
    (config_dir / "settings.toml").mkdir(parents=True)
    result = load_settings()
    assert result.settings == Settings()
    assert str(config_dir / "settings.toml") in result.messages[0]


def test_saving_where_a_folder_cannot_be_created_raises_settings_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("I am a file")
    target = blocker / "settings.toml"
    with pytest.raises(SettingsError) as caught:
        save_settings(Settings(), target)
    assert str(target) in str(caught.value)
    assert "writable" in str(caught.value)


def test_save_leaves_no_temporary_files(config_dir: Path) -> None:
    save_settings(Settings())
    save_settings(_customised())
    assert sorted(p.name for p in config_dir.iterdir()) == ["settings.toml"]


def test_failed_save_keeps_the_previous_file_intact(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_settings(_customised())
    before = (config_dir / "settings.toml").read_bytes()

    def failing_replace(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(settings_module.os, "replace", failing_replace)
        with pytest.raises(SettingsError, match="No space left on device"):
            save_settings(Settings())
    assert (config_dir / "settings.toml").read_bytes() == before
    assert sorted(p.name for p in config_dir.iterdir()) == ["settings.toml"]


def test_strict_from_dict_rejects_what_the_loader_forgives() -> None:
    data = settings_to_dict(_customised())
    assert settings_from_dict(data) == _customised()
    data["effect"]["blur"] = 500
    with pytest.raises(SettingsError, match="effect.blur"):
        settings_from_dict(data)
