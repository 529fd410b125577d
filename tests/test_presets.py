"""Presets: named looks from the window, the tray, a shortcut and `backdrop run --preset`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from app.gui.tray import TrayIcon
from app.presets import (
    Preset,
    built_in_presets,
    find_preset,
    load_presets,
    save_presets,
    with_preset,
    without_preset,
)
from app.settings import Settings, StudioSettings, load_settings
from tests.gui_fixtures import (  # noqa: F401 - the *_fixture names are fixtures
    OFFSCREEN_NOISE,
    WindowFactory,
    app_icon,
    config_dir_fixture,
    gui_settings,
    open_window_fixture,
)
from tests.test_cli import _frames, backdrop


def _mine(name: str = "Evening") -> Preset:
    return Preset(name, Settings().effect, Settings().mask, StudioSettings(light=0.9))


def test_your_presets_are_saved_beside_the_built_ins_and_can_replace_one(tmp_path: Path) -> None:
    path = tmp_path / "presets.toml"
    assert [p.name for p in load_presets(path).presets] == ["Work", "Casual"]
    mine_work = Preset("Work", Settings().effect, Settings().mask, StudioSettings(vignette=1.0))
    presets = with_preset(with_preset(built_in_presets(), _mine()), mine_work)
    save_presets(presets, path)
    loaded = load_presets(path)
    assert loaded.messages == []
    assert [p.name for p in loaded.presets] == ["Work", "Casual", "Evening"]  # as saved
    work = find_preset(loaded.presets, "work")
    assert work is not None and work.studio.vignette == 1.0 and not work.built_in
    restored = without_preset(loaded.presets, "Work")
    assert find_preset(restored, "Work") == built_in_presets()[0]  # the built-in is back


def test_an_unreadable_presets_file_is_moved_aside_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "presets.toml"
    path.write_text("[presets.Evening\nthis is not toml")
    loaded = load_presets(path)
    assert [p.name for p in loaded.presets] == ["Work", "Casual"]
    (aside,) = tmp_path.glob("presets.toml.unreadable-*")
    assert aside.read_text() == "[presets.Evening\nthis is not toml"
    assert len(loaded.messages) == 1 and str(aside) in loaded.messages[0]
    save_presets([_mine()], path)  # saving now cannot overwrite what was there
    assert aside.read_text() == "[presets.Evening\nthis is not toml"


def test_one_bad_preset_is_skipped_with_its_name_and_the_others_load(tmp_path: Path) -> None:
    path = tmp_path / "presets.toml"
    save_presets([_mine()], path)
    path.write_text(path.read_text() + '\n[presets.Broken.studio]\nlight = 7\n')
    loaded = load_presets(path)
    assert [p.name for p in loaded.presets] == ["Work", "Casual", "Evening"]
    assert len(loaded.messages) == 1
    assert "'Broken'" in loaded.messages[0] and "studio.light" in loaded.messages[0]


def test_run_starts_from_a_preset_and_names_the_presets_for_an_unknown_one(
    tmp_path: Path,
) -> None:
    args = ("run", "--source", "demo", "--output", "out.mp4", "--frames", "3", "--size",
            "640x360", "--effect", "color", "--color", "200,200,200")
    for name in ("plain", "casual", "bad"):
        (tmp_path / name).mkdir()
    plain = backdrop(tmp_path / "plain", *args)
    casual = backdrop(tmp_path / "casual", *args, "--preset", "casual")
    assert plain.returncode == 0, plain.stderr
    assert casual.returncode == 0, casual.stderr
    corner = _frames(tmp_path / "casual" / "out.mp4")[-1][3, 3].mean()
    assert corner < _frames(tmp_path / "plain" / "out.mp4")[-1][3, 3].mean() - 20  # vignette
    bad = backdrop(tmp_path / "bad", *args, "--preset", "Holiday")
    assert bad.returncode != 0
    assert "no preset called 'Holiday'" in bad.stderr and "Work, Casual" in bad.stderr


@OFFSCREEN_NOISE
def test_the_presets_menu_switches_the_look_saves_yours_and_deletes_it(
    qtbot: QtBot, open_window: WindowFactory, config_dir: Path
) -> None:
    window = open_window(gui_settings(kind="blur"))
    menu = window.presets
    assert list(menu.preset_actions) == ["Work", "Casual"]
    assert menu.preset_actions["Casual"].shortcut() == QKeySequence("Ctrl+2")
    menu.preset_actions["Casual"].trigger()
    casual = built_in_presets()[1]
    assert window.store.settings.studio == casual.studio
    assert window.store.settings.effect.blur_style == "portrait"
    assert window.studio_section.framing_check.isChecked()  # the controls show the look
    assert menu.preset_actions["Casual"].isChecked()
    window.studio_section.vignette_slider.slider.setValue(80)  # your own change
    assert not menu.preset_actions["Casual"].isChecked()
    menu.ask_name = lambda _suggested: "Evening"
    menu.save_action.trigger()
    assert list(menu.preset_actions) == ["Work", "Casual", "Evening"]
    assert menu.preset_actions["Evening"].isChecked()
    assert menu.preset_actions["Evening"].shortcut() == QKeySequence("Ctrl+3")
    saved = find_preset(load_presets(config_dir / "presets.toml").presets, "Evening")
    assert saved is not None and saved.studio.vignette == 0.8
    menu.preset_actions["Work"].trigger()
    window.store.flush()
    assert load_settings().settings.studio == built_in_presets()[0].studio  # and persists
    menu.delete("Evening")
    assert list(menu.preset_actions) == ["Work", "Casual"]
    assert find_preset(load_presets(config_dir / "presets.toml").presets, "Evening") is None


@OFFSCREEN_NOISE
def test_the_tray_offers_the_same_presets(qtbot: QtBot, open_window: WindowFactory) -> None:
    window = open_window()
    tray = TrayIcon(app_icon(), window.commands.show_window, [], [window.presets],
                    window.commands.quit, window)
    menu = tray.contextMenu()
    assert menu is not None
    submenus = [action.menu() for action in menu.actions() if action.menu() is not None]
    assert window.presets in submenus


def test_a_name_differing_only_in_case_is_the_same_preset(tmp_path: Path) -> None:
    path = tmp_path / "presets.toml"
    mine_work = Preset("work", Settings().effect, Settings().mask, StudioSettings(vignette=1.0))
    presets = with_preset(built_in_presets(), mine_work)
    assert [p.name for p in presets] == ["work", "Casual"]
    save_presets(presets, path)
    assert [p.name for p in load_presets(path).presets] == ["work", "Casual"]
    assert [p.name for p in without_preset(presets, "WORK")] == ["Work", "Casual"]


@OFFSCREEN_NOISE
def test_the_studio_section_offers_the_presets_menu(
    qtbot: QtBot, open_window: WindowFactory, config_dir: Path
) -> None:
    window = open_window(gui_settings(kind="blur"))
    button = window.studio_section.presets_button
    assert button.isVisibleTo(window) and button.menu() is window.presets
    work = next(action for action in button.menu().actions() if action.text() == "Work")
    work.trigger()
    assert window.store.settings.studio == built_in_presets()[0].studio
    assert window.studio_section.main_person_check.isChecked()  # the controls show the look
