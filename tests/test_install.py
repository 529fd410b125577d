"""Installing Backdrop: the Qt library check's advice, and the Makefile's run and test targets."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app import qtcheck

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_missing_library_message_gives_the_apt_and_dnf_commands() -> None:
    missing = qtcheck.missing_qt_libraries(
        finder=lambda soname: soname != "libxcb-cursor.so.0", platform="linux"
    )

    message = qtcheck.missing_libraries_message(missing)

    assert [library.soname for library in missing] == ["libxcb-cursor.so.0"]
    assert "libxcb-cursor.so.0" in message
    apt_line = next(line for line in message.splitlines() if "apt-get install" in line)
    dnf_line = next(line for line in message.splitlines() if "dnf install" in line)
    assert "libxcb-cursor0" in apt_line.split() and "libegl1" in apt_line.split()
    assert "xcb-util-cursor" in dnf_line.split() and "mesa-libEGL" in dnf_line.split()


def test_all_libraries_present_means_no_message() -> None:
    missing = qtcheck.missing_qt_libraries(finder=lambda soname: True, platform="linux")

    assert missing == []
    assert qtcheck.missing_libraries_message(missing) == ""


def test_qt_libraries_are_not_checked_outside_linux() -> None:
    for platform in ("win32", "darwin"):
        assert qtcheck.missing_qt_libraries(finder=lambda soname: False, platform=platform) == []


def test_main_prints_the_install_commands_and_fails_when_a_library_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(qtcheck, "library_loads", lambda soname: soname != "libEGL.so.1")
    monkeypatch.setattr(sys, "platform", "linux")

    exit_code = qtcheck.main([])

    err = capsys.readouterr().err
    assert exit_code == 1
    assert "libEGL.so.1" in err and "apt-get install" in err and "dnf install" in err


def test_main_is_silent_when_qt_can_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(qtcheck, "library_loads", lambda soname: True)

    assert qtcheck.main([]) == 0
    assert capsys.readouterr() == ("", "")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sonames are Linux's")
def test_library_loads_asks_the_real_dynamic_linker() -> None:
    assert qtcheck.library_loads("libc.so.6")
    assert not qtcheck.library_loads("libbackdrop-no-such-library.so.9")


def test_qtcheck_runs_as_a_plain_script_without_the_virtualenv() -> None:
    """`make run` calls it with the system python3 before .venv exists."""
    completed = subprocess.run(
        [sys.executable, "-I", "-S", str(REPO_ROOT / "app" / "qtcheck.py")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert completed.returncode in (0, 1), completed.stderr
    assert "Traceback" not in completed.stderr


def test_readme_and_ci_install_the_libraries_qtcheck_asks_for() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    ci_script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")

    assert qtcheck.apt_install_command() in readme
    assert qtcheck.dnf_install_command() in readme
    for library in qtcheck.QT_SYSTEM_LIBRARIES:
        assert re.search(rf"\b{re.escape(library.apt_package)}\b", ci_script), library


# --- The Makefile, parsed (never run: it installs packages) -----------------------------------


@dataclass
class Rule:
    prerequisites: list[str] = field(default_factory=list)
    recipe: list[str] = field(default_factory=list)


@dataclass
class Makefile:
    variables: dict[str, str]
    rules: dict[str, Rule]
    unexported: set[str]

    def expand(self, text: str) -> str:
        return _expand(text, self.variables)

    def reachable_recipe(self, target: str) -> str:
        """Every recipe line `make target` may run, following prerequisites and $(MAKE) calls."""
        seen, queue, lines = {target}, deque([target]), []
        while queue:
            rule = self.rules.get(queue.popleft(), Rule())
            called = [
                word
                for line in rule.recipe
                if "$(MAKE)" in line
                for word in self.expand(line.split("$(MAKE)", 1)[1]).replace(";", " ").split()
                if word in self.rules
            ]
            lines += [self.expand(line) for line in rule.recipe]
            for name in [self.expand(p) for p in rule.prerequisites] + called:
                if name not in seen:
                    seen.add(name)
                    queue.append(name)
        return "\n".join(lines)


def _expand(text: str, variables: dict[str, str]) -> str:
    """Substitute $(NAME) references (nested ones too); functions are left as they are."""
    for _ in range(10):
        text = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), text)
    return text


def parse_makefile(text: str) -> Makefile:
    """Variables, rules (with recipes) and `unexport`s of a plain GNU Makefile."""
    text = text.replace("\\\n", " ")
    variables: dict[str, str] = {}
    rules: dict[str, Rule] = {}
    unexported: set[str] = set()
    current: list[Rule] = []
    for line in text.splitlines():
        if line.startswith("\t"):
            for rule in current:
                rule.recipe.append(line.strip())
            continue
        line = line.split("#", 1)[0].rstrip()
        if not line:
            continue
        if assignment := re.match(r"^(\w+)\s*(?::=|\?=|=)\s*(.*)$", line):
            variables[assignment.group(1)] = assignment.group(2)
        elif line.startswith("unexport "):
            unexported.update(line.split()[1:])
        elif rule_match := re.match(r"^([^:=]+?)\s*:(?!=)\s*(.*)$", line):
            names = _expand(rule_match.group(1), variables).split()
            prerequisites = [p for p in rule_match.group(2).split() if p != "|"]
            current = [rules.setdefault(name, Rule()) for name in names]
            for rule in current:
                rule.prerequisites += prerequisites
    return Makefile(variables, rules, unexported)


@pytest.fixture(scope="module")
def makefile() -> Makefile:
    return parse_makefile((REPO_ROOT / "Makefile").read_text(encoding="utf-8"))


def test_make_run_creates_the_virtualenv_installs_and_starts_backdrop(makefile: Makefile) -> None:
    recipe = makefile.reachable_recipe("run")

    assert "-m venv .venv" in recipe
    assert "pip install" in recipe and "-e ." in recipe
    assert ".venv/bin/backdrop" in recipe.replace("$(VENV)", ".venv")
    assert "app/qtcheck.py" in recipe
    assert "--source demo" in recipe and "out/demo.mp4" in recipe


def test_make_test_creates_the_virtualenv_and_runs_every_check(makefile: Makefile) -> None:
    recipe = makefile.reachable_recipe("test")

    assert "-m venv .venv" in recipe
    assert "pip install" in recipe and "'.[test]'" in recipe
    for tool in (
        "ruff check",
        "mypy",
        "lint-imports",
        "QT_QPA_PLATFORM=offscreen .venv/bin/pytest",
    ):
        assert tool in recipe, f"make test does not run {tool}"


def test_installs_repeat_only_when_pyproject_changes(makefile: Makefile) -> None:
    stamps = [name for name in makefile.rules if name.startswith(".venv/.installed")]

    assert stamps, "no install stamp rule"
    for stamp in stamps:
        assert "pyproject.toml" in makefile.rules[stamp].prerequisites
        assert any("touch $@" in line for line in makefile.rules[stamp].recipe)


def test_makefile_never_hands_qt_a_plugin_path(makefile: Makefile) -> None:
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")

    assert "QT_QPA_PLATFORM_PLUGIN_PATH" in makefile.unexported
    assert not re.search(r"QT_QPA_PLATFORM_PLUGIN_PATH\s*[:?]?=", text)
