"""MediaPipe's audio tasks and drawing helpers (matplotlib) are not loaded for a run, and still
work for anyone who uses them. Each check runs in a fresh interpreter: this one has imported
MediaPipe already."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.settings import CONFIG_DIR_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, config_dir: Path) -> str:
    env = dict(os.environ, **{CONFIG_DIR_ENV: str(config_dir)})
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env,
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_a_headless_run_never_loads_matplotlib_or_the_audio_tasks(tmp_path: Path) -> None:
    out = _run(
        "import sys\n"
        "from app.cli.main import main\n"
        "code = main(['run', '--source', 'demo', '--output', 'null', '--frames', '3', "
        "'--quiet', '--size', '320x240'])\n"
        "loaded = [name for name in ('matplotlib', 'mediapipe.tasks.python.audio.audio_classifier',"
        " 'mediapipe.tasks.python.text.text_classifier') if name in sys.modules]\n"
        "print(code, loaded)\n",
        tmp_path,
    )
    assert out.strip().splitlines()[-1] == "0 []"


def test_the_deferred_modules_load_on_first_use(tmp_path: Path) -> None:
    out = _run(
        "import sys\n"
        "from segmentation.mediapipe_tasks import defer_unused_modules\n"
        "defer_unused_modules()\n"
        "from mediapipe.tasks.python import audio, vision\n"
        "print('matplotlib' in sys.modules)\n"
        "print(vision.drawing_utils.DrawingSpec().thickness, vision.drawing_styles.__name__)\n"
        "print(audio.AudioClassifier.__name__, 'matplotlib' in sys.modules)\n",
        tmp_path,
    )
    assert out.split() == ["False", "2", "mediapipe.tasks.python.vision.drawing_styles",
                           "AudioClassifier", "True"]
