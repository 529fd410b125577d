#!/bin/bash
# Install the Debian packages the v4l2loopback VM harness needs on the host.
# Idempotent: installs only what is missing, never prompts. Run it as yourself: only apt-get
# (a fixed system command) runs as root, through `sudo -n` when you are not root.
#   bash tests/vm/install_deps.sh            # harness deps
#   WITH_CHROMIUM=1 bash tests/vm/install_deps.sh   # also headless Chromium probe
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
as_root=()
if [ "$(id -u)" -ne 0 ]; then as_root=(sudo -n); fi

pkgs=(
  qemu-system-x86   # the VM (TCG; no KVM needed)
  busybox-static    # initramfs userland
  cpio              # packs the initramfs
  build-essential   # gcc/make for building v4l2loopback.ko against Debian headers
  libelf-dev        # some kbuild steps want it
  ffmpeg            # consumer (and test-pattern producer)
  v4l-utils         # v4l2-ctl inside the guest
  kmod              # modinfo (host-side sanity checks)
  zstd xz-utils     # .deb payload decompression
)
if [ "${WITH_CHROMIUM:-0}" = 1 ]; then pkgs+=(chromium); fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
# refresh lists if they are missing or older than a day
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  "${as_root[@]}" apt-get update -qq </dev/null
fi
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
