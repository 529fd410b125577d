#!/usr/bin/env bash
# Screenshots of the real window under Xvfb at 1280x800 and 1920x1080, into out/screenshots/.
# Installs Xvfb and Qt's run-time libraries with apt when they are missing (needs root or sudo).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${OUT:-out/screenshots}
# PySide6 must never pick up the Qt 5 plugins that opencv-contrib-python's wheel points at.
unset QT_QPA_PLATFORM_PLUGIN_PATH QT_PLUGIN_PATH QT_QPA_PLATFORM

packages=(xvfb xauth libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
          libxcb-render-util0 libxcb-shape0 libegl1 libgl1 libfontconfig1 libdbus-1-3)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    as_root=()
    [ "$(id -u)" -ne 0 ] && as_root=(sudo -n)
    echo "installing: ${missing[*]}"
    "${as_root[@]}" apt-get update -qq </dev/null
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}" </dev/null
fi

mkdir -p "$OUT"
xvfb-run -a -s "-screen 0 1280x800x24" "$PYTHON" packaging/screenshots.py --out "$OUT"
xvfb-run -a -s "-screen 0 1920x1080x24" "$PYTHON" packaging/screenshots.py --out "$OUT" \
    --suffix=-1080p
echo "Screenshots are in $OUT"
