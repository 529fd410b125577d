"""A long run: memory, descriptors and threads stay flat. The two-minute soak is the one slow
test here; the verdict logic is checked on made-up samples without running anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.soak import SoakResult, SoakSample, process_figures

ROOT = Path(__file__).resolve().parents[1]


def _sample(minute: float, rss_mb: float, open_fds: int = 9, threads: int = 12) -> SoakSample:
    return SoakSample(minute * 60.0, rss_mb, open_fds, threads, 30.0, 55.0, int(minute * 1800))


def test_the_verdict_compares_the_end_with_the_warm_up_sample() -> None:
    steady = SoakResult("1280x720", "blur", [_sample(1, 300.0), _sample(30, 318.0)], 20.0)
    assert steady.passed and steady.rss_growth_mb == pytest.approx(18.0)
    leaking = SoakResult("1280x720", "blur", [_sample(1, 300.0), _sample(30, 321.0)], 20.0)
    assert not leaking.passed and "FAIL" in leaking.summary()
    fd_leak = SoakResult("1280x720", "blur", [_sample(1, 300.0), _sample(2, 300.0, 10)], 20.0)
    assert not fd_leak.passed and "open descriptors          +1" in fd_leak.summary()
    thread_leak = SoakResult("1280x720", "blur", [_sample(1, 300), _sample(2, 300, 9, 13)], 20)
    assert not thread_leak.passed
    too_short = SoakResult("1280x720", "blur", [_sample(1, 300.0)], 20.0)
    assert not too_short.passed and "too short" in too_short.summary()


def test_process_figures_see_a_new_descriptor() -> None:
    _rss_mb, open_fds, threads = process_figures()
    with open(os.devnull, "rb"):
        assert process_figures()[1] == open_fds + 1
    assert threads >= 1


@pytest.mark.slow
def test_a_two_minute_soak_keeps_memory_descriptors_and_threads_flat(tmp_path: Path) -> None:
    env = dict(os.environ, BACKDROP_CONFIG_DIR=str(tmp_path / "config"), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "soak", "--minutes", "2", "--interval-seconds", "20",
         "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
    )
    figures = json.loads(result.stdout)
    samples = figures["samples"]
    assert len(samples) == 6, result.stderr
    assert figures["size"] == "1280x720" and all(sample["fps"] > 0 for sample in samples)
    assert figures["fd_growth"] <= 0 and figures["thread_growth"] <= 0
    assert figures["rss_growth_mb"] < 20
    assert figures["passed"] and result.returncode == 0
