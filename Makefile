# Backdrop: `make run` to try it, `make test` to check it. Both create .venv when it is missing
# and re-install only when pyproject.toml changed (a stamp file in .venv records the install).

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
DEMO_OUTPUT := out/demo.mp4
DEMO_SECONDS := 5

# opencv-contrib-python's Linux wheel bundles Qt5 and points QT_QPA_PLATFORM_PLUGIN_PATH at its
# plugins; PySide6 must never load those. Nothing here sets it, and a value inherited from the
# caller's shell is not passed on. (app/ unsets it as well before importing PySide6.)
unexport QT_QPA_PLATFORM_PLUGIN_PATH

.PHONY: run test test-vcam lint bench screenshots bundle clean distclean

$(VENV_PYTHON):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "Backdrop needs Python 3.10 or newer; try: make PYTHON=python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@ $(RUN_STAMP)

## run: the app's window; with no display (Linux), a few seconds of the demo into out/demo.mp4
run:
	@if [ "$$(uname -s)" = Linux ] && [ -z "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
		$(MAKE) --no-print-directory demo-file; \
	else \
		$(PYTHON) app/qtcheck.py && $(MAKE) --no-print-directory $(RUN_STAMP) && \
		$(VENV)/bin/backdrop; \
	fi

.PHONY: demo-file
demo-file: $(RUN_STAMP)
	@mkdir -p $(dir $(DEMO_OUTPUT))
	@echo "No display found, so Backdrop runs its demo into a file instead of opening a window."
	$(VENV)/bin/backdrop run --source demo --output $(DEMO_OUTPUT) --seconds $(DEMO_SECONDS)
	@echo "Wrote $(abspath $(DEMO_OUTPUT)) ($(DEMO_SECONDS) seconds); open it with any video player."

## test: linters, type checks, import contracts, then the test suite (Qt offscreen)
test: lint
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/pytest

## test-vcam: the virtual camera on a real v4l2loopback device (0.12.7 and the newest), in QEMU
## VMs (Linux; installs QEMU, busybox and ffmpeg with apt; about a minute once cached)
test-vcam: $(TEST_STAMP)
	@bash tests/vm/install_deps.sh || \
		echo "test-vcam: could not install the VM's tools; the VM tests will say why they skip"
	BACKDROP_VM_TESTS=1 BACKDROP_VM_QUIET=1 $(VENV)/bin/pytest -v tests/vm

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

## bench: CPU cost per stage and end to end (speed lives here, never in tests)
bench: $(RUN_STAMP)
	$(VENV)/bin/backdrop bench

## screenshots: the window under Xvfb, for the README (needs xvfb-run)
screenshots: $(TEST_STAMP)
	bash packaging/screenshots.sh

## bundle: a one-folder PyInstaller build in dist/backdrop, smoke-tested
bundle: $(RUN_STAMP)
	bash packaging/build_bundle.sh

## clean: build outputs and caches (keeps .venv); distclean also removes .venv
clean:
	rm -rf build dist out .pytest_cache .mypy_cache .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
