"""The headless wings (cli, engine, devices) import and run without Qt. The layers and the
no-cycles rule are import-linter contracts, checked by `lint-imports` in `make lint`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.settings import CONFIG_DIR_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]

# Imports PySide6 fails in, as on a machine without Qt's libraries: the headless path must not
# need it. (A meta-path finder that refuses the name, before any real import can happen.)
_BLOCK_QT = """
import sys
class _NoQt:
    def find_spec(self, name, path=None, target=None):
        if name == "PySide6" or name.startswith("PySide6."):
            raise ImportError(f"{name} is blocked: the headless wings must not import Qt")
        return None
sys.meta_path.insert(0, _NoQt())
"""


def _run(code: str, config_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if config_dir is not None:
        env[CONFIG_DIR_ENV] = str(config_dir)
    return subprocess.run([sys.executable, "-c", _BLOCK_QT + code], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_command_line_engine_and_devices_import_with_qt_blocked() -> None:
    modules = sorted(
        ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
        for wing in ("cli", "engine", "devices")
        for path in (REPO_ROOT / "app" / wing).glob("*.py")
    )
    modules = [name.removesuffix(".__init__") for name in modules]
    result = _run("import importlib\n" + "".join(
        f"importlib.import_module({name!r})\n" for name in modules
    ) + "print('imported', len(sys.modules))")
    assert result.returncode == 0, result.stderr
    assert "PySide6" not in result.stdout


def test_the_block_really_blocks_qt() -> None:
    result = _run("import app.gui.window")
    assert result.returncode != 0 and "PySide6 is blocked" in result.stderr


def test_a_headless_run_works_with_qt_blocked(tmp_path: Path) -> None:
    target = tmp_path / "out.y4m"
    result = _run(
        "from app.cli.main import main\n"
        f"sys.exit(main(['run', '--source', 'demo', '--output', {str(target)!r}, "
        "'--frames', '3', '--quiet', '--size', '320x240']))",
        config_dir=tmp_path / "config",
    )
    assert result.returncode == 0, result.stderr
    assert target.stat().st_size > 320 * 240 * 3


def test_windows_python_without_fcntl_imports_the_command_line_and_the_devices() -> None:
    """fcntl is POSIX only: a module-level import of it (loopback.py had one) breaks every
    start on Windows."""
    block = _BLOCK_QT.replace('name == "PySide6" or name.startswith("PySide6.")',
                              'name in ("fcntl", "termios")')
    code = ("import importlib\nfor name in ('app.cli.main', 'app.devices.sinks', "
            "'app.devices.sources', 'app.devices.camera_list', 'app.devices.doctor', "
            "'app.engine.session'):\n    importlib.import_module(name)\nprint('ok')")
    result = subprocess.run([sys.executable, "-c", block + code], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
