"""Studio effects (issue 15): only the main person and the vignette, their settings and flags."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.devices.demo import DemoRenderer, DemoSource
from app.engine.pipeline import outlined_crop
from app.engine.schedules import RunMode
from app.engine.stages import FrameStages
from app.engine.stats import PipelineStats
from app.engine.studio import StudioStage
from app.settings import (
    Settings,
    SettingsError,
    StudioSettings,
    load_settings,
    save_settings,
)
from compositing.compositor import Compositor
from compositing.vignette import Vignette
from segmentation.main_person import MainPerson
from tests.test_cli import _frames, backdrop


def _person(alpha: np.ndarray, centre_x: int, top: int, width: int, height: int) -> None:
    """Draw a head-and-shoulders blob into `alpha` (255 = person)."""
    cv2.ellipse(alpha, (centre_x, top + height // 5), (width // 5, height // 5), 0, 0, 360, 255, -1)
    cv2.rectangle(alpha, (centre_x - width // 2, top + height // 3),
                  (centre_x + width // 2, top + height), 255, -1)


def _two_people(main_x: int, other_x: int) -> np.ndarray:
    alpha = np.zeros((360, 640), np.uint8)
    _person(alpha, main_x, 80, 240, 280)
    _person(alpha, other_x, 160, 90, 200)  # smaller, further back
    return alpha


def test_main_person_keeps_the_larger_central_person_and_drops_the_other() -> None:
    kept = MainPerson().keep(_two_people(main_x=320, other_x=560))
    assert kept[300, 320] == 255  # the main person's body
    assert kept[300, 560] == 0  # the other person is background
    assert not kept[:, 500:].any()


def test_main_person_choice_does_not_flip_when_the_other_comes_closer() -> None:
    """The tracked person stays chosen even when the other one becomes larger and central."""
    main_person = MainPerson()
    main_person.keep(_two_people(main_x=200, other_x=520))
    alpha = np.zeros((360, 640), np.uint8)
    _person(alpha, 180, 120, 120, 240)  # the user, now smaller and off-centre
    _person(alpha, 420, 40, 260, 320)  # the other, now larger and near the centre
    kept = main_person.keep(alpha)
    assert kept[300, 180] == 255
    assert kept[300, 430] == 0


def test_main_person_keeps_what_the_person_holds_and_their_soft_edge() -> None:
    alpha = _two_people(main_x=320, other_x=580)
    cv2.rectangle(alpha, (440, 200), (480, 260), 255, -1)  # a mug, touching the hand
    alpha = cv2.GaussianBlur(alpha, (9, 9), 0)
    kept = MainPerson().keep(alpha)
    assert kept[230, 460] == alpha[230, 460]
    edge = (alpha > 0) & (alpha < 255) & (np.arange(640)[None, :] < 500)
    assert np.abs(kept[edge].astype(int) - alpha[edge]).max() <= 2


def test_vignette_darkens_the_corners_and_leaves_the_centre() -> None:
    frame = np.full((720, 1280, 3), 200, np.uint8)
    out = Vignette(1.0).apply(frame)
    assert out[360, 640].tolist() == [200, 200, 200]
    assert out[0, 0, 0] < 100
    assert Vignette(0.0).apply(frame) is frame
    assert out[0, 0, 0] < Vignette(0.5).apply(frame)[0, 0, 0] < 200


def test_studio_stage_follows_its_settings_and_times_each_effect() -> None:
    stage, stats = StudioStage(StudioSettings()), PipelineStats()
    frame = np.full((360, 640, 3), 200, np.uint8)
    alpha = _two_people(main_x=320, other_x=560)
    assert stage.on_alpha(alpha, stats) is alpha
    assert stage.on_output(frame, stats) is frame
    stage.configure(StudioSettings(main_person=True, vignette=0.5))
    assert not stage.on_alpha(alpha, stats)[:, 500:].any()
    assert stage.on_output(frame, stats)[0, 0, 0] < 200
    assert {"main_person", "vignette"} <= set(stats.snapshot().stage_ms_p50)


def test_studio_settings_are_validated_and_persist(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="studio.vignette"):
        StudioSettings(vignette=1.5)
    with pytest.raises(SettingsError, match="studio.main_person"):
        StudioSettings(main_person=1)  # type: ignore[arg-type]
    settings = dataclasses.replace(Settings(), studio=StudioSettings(main_person=True, vignette=1))
    path = tmp_path / "settings.toml"
    save_settings(settings, path)
    loaded = load_settings(path)
    assert loaded.messages == []
    assert loaded.settings.studio == StudioSettings(main_person=True, vignette=1.0)


def test_run_applies_the_vignette_and_main_person_flags(tmp_path: Path) -> None:
    args = ("run", "--source", "demo", "--output", "out.mp4", "--frames", "3", "--size",
            "640x360", "--effect", "color", "--color", "200,200,200")
    for name in ("plain", "studio", "bad"):
        (tmp_path / name).mkdir()
    plain = backdrop(tmp_path / "plain", *args)
    studio = backdrop(tmp_path / "studio", *args, "--vignette", "1", "--main-person")
    assert plain.returncode == 0, plain.stderr
    assert studio.returncode == 0, studio.stderr
    before = _frames(tmp_path / "plain" / "out.mp4")
    after = _frames(tmp_path / "studio" / "out.mp4")
    assert after[-1][5, 5].mean() < before[-1][5, 5].mean() - 60  # a darker corner
    bad = backdrop(tmp_path / "bad", *args, "--vignette", "2")
    assert bad.returncode != 0 and "studio.vignette" in bad.stderr


def test_portrait_blur_keeps_the_background_beside_the_person_sharper_than_far_away() -> None:
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)  # texture: blur flattens it
    alpha = np.zeros((360, 640), np.uint8)
    cv2.rectangle(alpha, (280, 100), (360, 360), 255, -1)
    flat, portrait = Compositor(), Compositor()
    flat.configure("blur", blur_strength=60)
    portrait.configure("blur", blur_strength=60, blur_style="portrait")
    out_flat, out_portrait = flat.apply(frame, alpha), portrait.apply(frame, alpha)

    def detail(image: np.ndarray, cols: slice) -> float:
        return float(np.abs(np.diff(image[150:300, cols].astype(np.int16), axis=1)).mean())

    near, far = slice(365, 385), slice(600, 640)
    assert detail(out_portrait, near) > 2 * detail(out_flat, near)
    assert detail(out_portrait, far) == pytest.approx(detail(out_flat, far), rel=0.2)
    assert np.array_equal(out_portrait[alpha == 255], frame[alpha == 255])


def _main_person_run(main_person: bool, frames: int) -> tuple[list[float], list[float]]:
    """On the demo with a bystander, per output frame: the share of the bystander shown as
    background, and her IoU against the truth (both from the output's colour)."""
    green = (0, 255, 0)
    base = Settings()
    settings = dataclasses.replace(
        base, effect=dataclasses.replace(base.effect, kind="color", color_rgb=green,
                                         light_wrap=0.0),
        output=dataclasses.replace(base.output, mirror=False),
        studio=StudioSettings(main_person=main_person),
    )
    source = DemoSource(640, 360, 30, paced=False, bystander=True)
    source.open()
    stages = FrameStages(settings, 640, 360, RunMode.EVERY_FRAME)
    bystander_alpha = source.bystander_alpha()
    assert bystander_alpha is not None
    bystander = cv2.erode((bystander_alpha >= 128).astype(np.uint8), np.ones((7, 7))) > 0
    hidden, iou = [], []
    try:
        for index in range(frames):
            frame = source.read()
            assert frame is not None
            truth = source.person_alpha(index) >= 128
            for finished in stages.process(frame, PipelineStats()):
                shown = np.abs(finished.output_bgr.astype(int) - green[::-1]).max(axis=2) > 40
                hidden.append(float((~shown[bystander]).mean()))
                her = shown & ~bystander
                iou.append(float((her & truth).sum() / (her | truth).sum()))
    finally:
        stages.close()
        source.close()
    return hidden, iou


def test_only_the_main_person_hides_the_bystander_and_keeps_her_whole() -> None:
    hidden_off, iou_off = _main_person_run(main_person=False, frames=60)
    hidden_on, iou_on = _main_person_run(main_person=True, frames=60)
    assert np.mean(hidden_off) < 0.5, "without the option the model shows the bystander"
    assert np.mean([share >= 0.99 for share in hidden_on]) >= 0.99
    assert np.mean(iou_on) >= np.mean(iou_off) - 0.002


def test_the_framing_preview_darkens_outside_the_crop_and_outlines_it() -> None:
    frame = np.full((360, 640, 3), 200, np.uint8)
    shown = outlined_crop(frame, (100, 50, 320, 180))
    assert shown[10, 10].tolist() == [120, 120, 120]  # outside, faintly darker
    assert shown[140, 260].tolist() == [200, 200, 200]  # inside, as it is
    assert shown[50, 260].tolist() == [235, 235, 235]  # the crop's edge
    assert frame[10, 10].tolist() == [200, 200, 200]  # the frame itself is untouched


def test_run_applies_the_framing_portrait_and_denoise_flags(tmp_path: Path) -> None:
    """What the meeting sees from `backdrop run`: framing makes her larger, portrait blur
    keeps the room beside her sharper than the flat blur, denoise calms the grain on her."""
    args = ("run", "--source", "demo-still", "--output", "out.y4m", "--frames", "60",
            "--size", "1280x720")
    runs = {"flat": ("--effect", "blur"),
            "framed": ("--effect", "color", "--color", "0,255,0", "--framing", "auto"),
            "plain": ("--effect", "color", "--color", "0,255,0"),
            "portrait": ("--effect", "blur", "--blur-style", "portrait"),
            "denoised": ("--effect", "blur", "--denoise", "1")}
    frames = {}
    for name, flags in runs.items():
        (tmp_path / name).mkdir()
        result = backdrop(tmp_path / name, *args, *flags)
        assert result.returncode == 0, result.stderr
        frames[name] = _frames(tmp_path / name / "out.y4m")
        assert len(frames[name]) == 60

    def head_width(frame: np.ndarray) -> int:  # of what is not the green background
        her = np.abs(frame.astype(np.int16) - (0, 255, 0)).max(axis=2) >= 40
        top = int(np.flatnonzero(her.any(axis=1))[0])
        cols = np.flatnonzero(her[top:top + 120].any(axis=0))
        return int(cols[-1] - cols[0])

    assert head_width(frames["framed"][-1]) > 1.3 * head_width(frames["plain"][-1])

    def detail(frame: np.ndarray, cols: slice) -> float:
        return float(np.abs(np.diff(frame[40:240, cols].astype(np.int16), axis=1)).mean())

    beside, far = slice(400, 560), slice(1120, 1200)  # left of her head, and far right
    assert detail(frames["portrait"][-1], beside) > 1.2 * detail(frames["flat"][-1], beside)
    assert detail(frames["portrait"][-1], far) == pytest.approx(
        detail(frames["flat"][-1], far), abs=0.05)

    def grain(outputs: list[np.ndarray]) -> float:  # frame to frame change on her face
        face = (slice(150, 250), slice(580, 700))
        return float(np.mean([np.abs(a[face].astype(np.int16) - b[face]).mean()
                              for a, b in zip(outputs[-10:], outputs[-11:-1], strict=True)]))

    assert grain(frames["denoised"]) < 0.7 * grain(frames["flat"])


def test_run_with_main_person_hides_a_bystander_in_a_recorded_clip(tmp_path: Path) -> None:
    """`backdrop run --main-person` on a clip of her with someone behind her, at 1280x720: the
    meeting sees the new background where the bystander is; without it, the bystander."""
    renderer = DemoRenderer(1280, 720, bystander=True)
    assert renderer.bystander_alpha is not None
    clip = tmp_path / "two people.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30, (1280, 720))
    for index in range(40):
        writer.write(renderer.render(index / 30))
    writer.release()
    bystander = cv2.erode((renderer.bystander_alpha >= 128).astype(np.uint8),
                          np.ones((9, 9))) > 0
    hidden = {}
    for name, flags in (("all", ()), ("main", ("--main-person",))):
        (tmp_path / name).mkdir()
        result = backdrop(tmp_path / name, "run", "--source", str(clip), "--output", "out.y4m",
                          "--effect", "color", "--color", "0,255,0", *flags)
        assert result.returncode == 0, result.stderr
        outputs = _frames(tmp_path / name / "out.y4m")
        assert len(outputs) == 40
        hidden[name] = [float((np.abs(out.astype(np.int16) - (0, 255, 0)).max(axis=2)
                               < 40)[bystander].mean()) for out in outputs[10:]]
    assert np.mean(hidden["all"]) < 0.5, "without the option the model shows the bystander"
    assert min(hidden["main"]) >= 0.99


def test_main_person_away_does_not_hand_her_picture_to_the_bystander() -> None:
    """She leaves, the smaller person behind her stays background; she comes back (to another
    place) and is shown, the other still not. Alone, she is shown wherever she comes back."""
    main_person = MainPerson()
    main_person.keep(_two_people(main_x=320, other_x=560))
    behind_only = np.zeros((360, 640), np.uint8)
    _person(behind_only, 560, 160, 90, 200)
    for _ in range(30):  # a second away, only the bystander in the picture
        assert not main_person.keep(behind_only).any()
    back = _two_people(main_x=200, other_x=560)
    kept = main_person.keep(back)
    assert kept[300, 200] == 255 and kept[300, 560] == 0
    assert not main_person.keep(behind_only).any()  # away again: still not the other
    alone = MainPerson()
    alone.keep(_two_people(main_x=320, other_x=560)[:, :450].copy())
    for _ in range(30):
        alone.keep(np.zeros((360, 450), np.uint8))  # nobody
    moved = np.zeros((360, 450), np.uint8)
    _person(moved, 150, 90, 230, 270)
    assert alone.keep(moved)[300, 150] == 255
