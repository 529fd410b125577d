#!/usr/bin/env bash
# Build Backdrop's one-folder bundle with PyInstaller (dist/backdrop/, and dist/Backdrop.app on
# macOS), then smoke-test it: the bundled program, run from an empty folder, must write a video
# with frames. Called by `make bundle`; needs .venv with Backdrop installed.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV_PYTHON=.venv/bin/python
if [ ! -x "$VENV_PYTHON" ]; then
    echo "build_bundle.sh: $VENV_PYTHON not found; run 'make run' or 'make test' first" >&2
    exit 1
fi
# PySide6 must never pick up the Qt5 plugins that opencv-contrib-python's wheel points at.
unset QT_QPA_PLATFORM_PLUGIN_PATH

if ! "$VENV_PYTHON" -c 'import PyInstaller' >/dev/null 2>&1; then
    echo "== installing PyInstaller into .venv"
    "$VENV_PYTHON" -m pip install --quiet --disable-pip-version-check 'pyinstaller>=6.10,<7'
fi

echo "== building dist/backdrop"
build_started_s=$SECONDS
"$VENV_PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/backdrop.spec
echo "== built in $((SECONDS - build_started_s)) s: $(du -sh dist/backdrop | cut -f1) in dist/backdrop"

case "$(uname -s)" in
    MINGW* | MSYS* | CYGWIN*) executable="$PWD/dist/backdrop/backdrop.exe" ;;
    *) executable="$PWD/dist/backdrop/backdrop" ;;
esac

echo "== smoke test: $executable run --source demo --seconds 2"
smoke_dir=$(mktemp -d)
trap 'rm -rf "$smoke_dir"' EXIT
(
    cd "$smoke_dir"
    env -u PYTHONPATH -u PYTHONHOME "$executable" run --source demo --output out.mp4 \
        --seconds 2 --quiet
)
"$VENV_PYTHON" - "$smoke_dir/out.mp4" <<'EOF'
import sys

import cv2

path = sys.argv[1]
capture = cv2.VideoCapture(path)
frames = 0
while capture.read()[0]:
    frames += 1
capture.release()
if frames == 0:
    sys.exit(f"smoke test failed: {path} has no frames")
print(f"smoke test passed: the bundled backdrop wrote {frames} frames")
EOF
