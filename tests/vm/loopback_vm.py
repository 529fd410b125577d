#!/usr/bin/env python3
"""Boot a throw-away QEMU VM with a *real* v4l2loopback kernel module.

The host (Debian 12, no module support, no usable KVM) cannot load
v4l2loopback itself, so this harness:

1. downloads Debian's stock bookworm kernel (``linux-image-6.1.0-N-amd64``),
   its headers and ``v4l2loopback-dkms`` (0.12.7 from bookworm, or a newer
   release from trixie/sid through a *private* apt configuration that does not
   touch the host's apt setup) with ``apt-get download``;
2. unpacks them with ``dpkg -x`` and builds ``v4l2loopback.ko`` against the
   headers (``make -C <headers> M=<src> modules``, a few seconds);
3. packs a busybox initramfs that insmods virtio/9p/videodev + v4l2loopback,
   mounts the host's ``/`` read-only over 9p, overlays writable tmpfs for
   /tmp /run /dev/shm, devtmpfs /dev, /proc, /sys, and runs the test command
   under ``chroot`` -- so the guest uses the host's python, ffmpeg, venv...;
4. boots it under TCG (``-accel tcg,thread=multi``) with a second, writable
   9p share (the *job dir*) that carries the command in and the output, exit
   code, guest dmesg and any files the command writes out.

API (stdlib only; run with any python3 >= 3.9)::

    import loopback_vm as vm
    vm.prepare("0.12.7")                      # -> Artifacts (cached)
    rc, out = vm.run_in_vm("v4l2-ctl --all -d /dev/video0", "0.15.4")
    res = vm.run_in_vm_full(cmd, version, modprobe_args=..., timeout=...)
    res.rc, res.output, res.dmesg, res.job_dir   # job_dir holds extra files

CLI::

    python3 tests/vm/loopback_vm.py versions
    python3 tests/vm/loopback_vm.py prepare 0.12.7
    python3 tests/vm/loopback_vm.py run 0.12.7 -- v4l2-ctl --list-devices

Inside the guest the command runs with ``sh -c`` in the job dir
(``$VM_OUT``), ``HOME=/tmp``; the module is at ``$V4L2LOOPBACK_KO`` and
``vm-reload-loopback ARGS...`` (on ``PATH``) rmmods and re-insmods it.

Environment overrides: ``BACKDROP_VM_CACHE`` (cache dir, default
``$XDG_CACHE_HOME/backdrop-vm`` or ``/tmp/backdrop-vm-cache``),
``BACKDROP_VM_KERNEL`` (kernel ABI such as ``6.1.0-57-amd64``),
``BACKDROP_VM_MEM`` (MiB, default 2048), ``BACKDROP_VM_SMP`` (default 2),
``BACKDROP_VM_QUIET=1`` (no step timings on stderr).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import glob
import gzip
import hashlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_MODPROBE_ARGS = "devices=1 exclusive_caps=1 card_label=Backdrop"

# Stock modules needed before v4l2loopback (dependencies resolved from
# modules.dep, so only the "leaves" are listed here).
BASE_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "videodev"]

# Extra Debian suites searched (read-only, private apt state) for newer
# v4l2loopback-dkms releases.
EXTRA_SUITES = ["trixie", "sid"]
DEBIAN_MIRROR = "http://deb.debian.org/debian"

HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------

def cache_dir() -> Path:
    env = os.environ.get("BACKDROP_VM_CACHE")
    if env:
        p = Path(env)
    elif os.environ.get("XDG_CACHE_HOME"):
        p = Path(os.environ["XDG_CACHE_HOME"]) / "backdrop-vm"
    else:
        p = Path("/tmp/backdrop-vm-cache")
    p.mkdir(parents=True, exist_ok=True)
    return p


def _log(msg: str) -> None:
    if os.environ.get("BACKDROP_VM_QUIET") != "1":
        print(f"[loopback_vm] {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def step(name: str):
    t0 = time.monotonic()
    _log(f"{name} ...")
    try:
        yield
    finally:
        _log(f"{name}: {time.monotonic() - t0:.1f}s")


def _run(cmd, timeout=600, **kw) -> subprocess.CompletedProcess:
    """Run a host command, no stdin, bounded, raising with its output."""
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): "
                           f"{' '.join(map(str, cmd))}\n{r.stdout[-4000:]}")
    return r


@contextlib.contextmanager
def _lock(name: str, timeout: float = 1800):
    """Inter-process lock in the cache dir (one prepare / one VM at a time)."""
    path = cache_dir() / f".{name}.lock"
    with open(path, "w") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not take lock {path}") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _need_tools():
    missing = [t for t in ("qemu-system-x86_64", "apt-get", "dpkg", "make",
                           "gcc-12", "depmod", "cpio")
               if shutil.which(t) is None]
    if not os.path.exists("/bin/busybox") or b"statically linked" not in \
            subprocess.run(["file", "-L", "/bin/busybox"], capture_output=True).stdout:
        missing.append("busybox-static")
    if missing:
        raise RuntimeError(f"missing host tools {missing}; run "
                           f"bash {HERE / 'install_deps.sh'}")


# --------------------------------------------------------------------------
# apt: default (bookworm) and a private config for trixie/sid
# --------------------------------------------------------------------------

def _private_apt_opts() -> list[str]:
    base = cache_dir() / "apt-extra"
    (base / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (base / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    src = base / "sources.list"
    text = "".join(f"deb {DEBIAN_MIRROR} {s} main\n" for s in EXTRA_SUITES)
    if not src.exists() or src.read_text() != text:
        src.write_text(text)
    return ["-o", f"Dir::Etc::sourcelist={src}",
            "-o", "Dir::Etc::sourceparts=/nonexistent",
            "-o", f"Dir::State::Lists={base / 'lists'}",
            "-o", f"Dir::Cache={base / 'cache'}",
            "-o", "APT::Get::List-Cleanup=0",
            "-o", "Debug::NoLocking=1",   # private state: don't take host locks
            "-o", "APT::Sandbox::User=root"]


def _private_apt_update(max_age_s: float = 86400) -> list[str]:
    opts = _private_apt_opts()
    lists = cache_dir() / "apt-extra" / "lists"
    fresh = [p for p in lists.glob("*Packages*")
             if time.time() - p.stat().st_mtime < max_age_s]
    if not fresh:
        with step("apt-get update (private lists: " + ", ".join(EXTRA_SUITES) + ")"):
            _run(["apt-get", *opts, "update", "-qq"], timeout=300)
    return opts


def _madison(pkg: str, opts: list[str]) -> list[str]:
    r = subprocess.run(["apt-cache", *opts, "madison", pkg], text=True,
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    return [ln.split("|")[1].strip() for ln in r.stdout.splitlines() if "|" in ln]


def _apt_download(specs: list[str], dest: Path, opts: list[str] | None = None):
    dest.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", *(opts or []), "-o", "APT::Sandbox::User=root",
          "download", *specs], cwd=dest, timeout=900)


def available_versions(refresh: bool = False) -> dict[str, str]:
    """Map upstream v4l2loopback version -> Debian version, all suites."""
    out: dict[str, str] = {}
    for deb in _madison("v4l2loopback-dkms", []):
        out.setdefault(deb.split("-")[0], deb)
    opts = _private_apt_update(0 if refresh else 86400)
    for deb in _madison("v4l2loopback-dkms", opts):
        out.setdefault(deb.split("-")[0], deb)
    return dict(sorted(out.items(), key=lambda kv: [int(x) for x in
                                                    re.findall(r"\d+", kv[0])]))


def resolve_version(version: str) -> str:
    """'bookworm'/'old' -> 0.12.7-ish, 'latest'/'new' -> newest reachable."""
    cached = sorted(p.name.split("-", 1)[1] for p in cache_dir().glob("v4l2loopback-*")
                    if (p / "v4l2loopback.ko").exists() or (p / "src").exists())
    if re.fullmatch(r"\d+\.\d+\.\d+", version):
        return version
    if version in ("bookworm", "old"):
        vs = _madison("v4l2loopback-dkms", [])
        return vs[0].split("-")[0] if vs else "0.12.7"
    if version in ("latest", "new"):
        try:
            return list(available_versions())[-1]
        except Exception:
            if cached:
                return cached[-1]
            raise
    raise ValueError(f"unknown version {version!r}")


# --------------------------------------------------------------------------
# kernel
# --------------------------------------------------------------------------

def _kernel_abi() -> str:
    env = os.environ.get("BACKDROP_VM_KERNEL")
    if env:
        return env
    done = sorted(cache_dir().glob("kernel-*/.done"))
    if done:  # reuse what is cached: offline and stable
        return done[-1].parent.name[len("kernel-"):]
    r = subprocess.run(["apt-cache", "depends", "linux-image-amd64"],
                       capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    m = re.search(r"linux-image-(\d+\.\d+\.\d+-\d+-amd64)", r.stdout)
    if not m:
        raise RuntimeError("cannot resolve the bookworm kernel ABI "
                           "(apt-get update done?)\n" + r.stdout + r.stderr)
    return m.group(1)


def _prepare_kernel() -> Path:
    abi = _kernel_abi()
    kdir = cache_dir() / f"kernel-{abi}"
    if (kdir / ".done").exists():
        return kdir
    debs = cache_dir() / "debs"
    major = ".".join(abi.split(".")[:2])  # 6.1
    pkgs = [f"linux-image-{abi}", f"linux-headers-{abi}",
            f"linux-headers-{abi.rsplit('-', 1)[0]}-common", f"linux-kbuild-{major}"]
    want = [p for p in pkgs if not list(debs.glob(f"{p}_*.deb"))]
    if want:
        with step(f"download kernel packages ({' '.join(want)})"):
            _apt_download(want, debs)
    if kdir.exists():
        shutil.rmtree(kdir)
    root = kdir / "root"
    with step("unpack kernel packages"):
        root.mkdir(parents=True)
        for p in pkgs:
            deb = sorted(debs.glob(f"{p}_*.deb"))[-1]
            _run(["dpkg", "-x", str(deb), str(root)])
        # the headers' Makefile includes the -common tree by absolute path
        common = f"/usr/src/linux-headers-{abi.rsplit('-', 1)[0]}-common"
        mk = root / f"usr/src/linux-headers-{abi}/Makefile"
        mk.write_text(mk.read_text().replace(common, str(root) + common))
        _run(["depmod", "-b", str(root), abi])
        shutil.copy(glob.glob(str(root / f"boot/vmlinuz-{abi}"))[0], kdir / "vmlinuz")
    (kdir / ".done").write_text(abi + "\n")
    return kdir


def _module_load_order(kdir: Path, abi: str, names: list[str]) -> list[Path]:
    mroot = kdir / "root" / "lib" / "modules" / abi
    dep: dict[str, list[str]] = {}
    byname: dict[str, str] = {}
    for ln in (mroot / "modules.dep").read_text().splitlines():
        mod, _, rest = ln.partition(":")
        dep[mod] = rest.split()
        byname[Path(mod).name.split(".ko")[0].replace("-", "_")] = mod
    order: list[str] = []

    def visit(m: str):
        if m in order:
            return
        for d in dep[m]:
            visit(d)
        order.append(m)

    for n in names:
        visit(byname[n.replace("-", "_")])
    return [mroot / m for m in order]


# --------------------------------------------------------------------------
# v4l2loopback
# --------------------------------------------------------------------------

def _prepare_loopback(version: str, kdir: Path, abi: str) -> Path:
    vdir = cache_dir() / f"v4l2loopback-{version}"
    ko = vdir / "v4l2loopback.ko"
    if ko.exists() and (vdir / "built-for").read_text().strip() == abi:
        return ko
    debs = cache_dir() / "debs"
    have = sorted(debs.glob(f"v4l2loopback-dkms_{version}-*_all.deb"))
    if not have:
        with step(f"download v4l2loopback-dkms {version}"):
            base = {d.split("-")[0]: d for d in _madison("v4l2loopback-dkms", [])}
            if version in base:
                _apt_download([f"v4l2loopback-dkms={base[version]}"], debs)
            else:
                opts = _private_apt_update()
                extra = {d.split("-")[0]: d
                         for d in _madison("v4l2loopback-dkms", opts)}
                if version not in extra:
                    raise RuntimeError(
                        f"v4l2loopback {version} is not in bookworm nor "
                        f"{EXTRA_SUITES}; reachable: {sorted({**base, **extra})}")
                _apt_download([f"v4l2loopback-dkms={extra[version]}"], debs, opts)
        have = sorted(debs.glob(f"v4l2loopback-dkms_{version}-*_all.deb"))
    if vdir.exists():
        shutil.rmtree(vdir)
    vdir.mkdir(parents=True)
    (vdir / "x").mkdir()
    with step(f"build v4l2loopback {version} against {abi}"):
        x = vdir / "x"
        _run(["dpkg", "-x", str(have[-1]), str(x)])
        src = next((x / "usr" / "src").glob("v4l2loopback-*"))
        shutil.move(str(src), vdir / "src")
        shutil.rmtree(x)
        headers = kdir / "root" / "usr" / "src" / f"linux-headers-{abi}"
        r = _run(["make", "-C", str(headers), f"M={vdir / 'src'}", "modules",
                  f"-j{os.cpu_count() or 2}"], timeout=900)
        (vdir / "build.log").write_text(r.stdout)
        shutil.copy(vdir / "src" / "v4l2loopback.ko", ko)
    (vdir / "built-for").write_text(abi + "\n")
    return ko


# --------------------------------------------------------------------------
# initramfs
# --------------------------------------------------------------------------

INIT_SH = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /mnt/root /bin /sbin
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "vm-init: up $(cut -d' ' -f1 /proc/uptime)s" > /dev/console
for m in $(cat /vm/modules.list); do insmod /vm/mods/$m || echo "vm-init: insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro \
  hostroot /mnt/root || echo "vm-init: hostroot mount failed"
R=/mnt/root
mount -t tmpfs -o mode=1777,size=70% tmpfs $R/tmp
mkdir -p $R/tmp/job
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 job $R/tmp/job \
  || echo "vm-init: job mount failed"
J=$R/tmp/job
# The project, at its own path: it may live under /tmp, which the tmpfs above hides.
P="$(cat $J/project_path 2>/dev/null)"
if [ -n "$P" ]; then
  mkdir -p "$R$P" 2>/dev/null
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro \
    project "$R$P" || echo "vm-init: project mount failed" > /dev/console
fi
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/shm $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs tmpfs $R/run
mkdir -p $R/run/vm
mount -o bind /vm $R/run/vm
for d in var/tmp var/cache; do [ -d $R/$d ] && mount -t tmpfs tmpfs $R/$d; done
ARGS="$(cat /vm/modprobe_args 2>/dev/null)"
if [ -n "$(cat $J/load_module)" ]; then
  insmod /vm/v4l2loopback.ko $ARGS \
    && echo "vm-init: v4l2loopback loaded: $ARGS" > /dev/console \
    || echo "vm-init: v4l2loopback insmod FAILED" > /dev/console
fi
echo "vm-init: ready $(cut -d' ' -f1 /proc/uptime)s" > /dev/console
T=$(cat $J/timeout)
chroot $R /usr/bin/env -i PATH=/run/vm/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
   HOME=/tmp LANG=C.UTF-8 TERM=dumb VM_OUT=/tmp/job V4L2LOOPBACK_KO=/run/vm/v4l2loopback.ko \
   V4L2LOOPBACK_VERSION="$(cat /vm/version)" PYTHONDONTWRITEBYTECODE=1 \
   /usr/bin/timeout -k 5 $T /bin/sh -c 'cd /tmp/job && exec /bin/sh ./cmd.sh' \
   > $J/output.txt 2>&1 < /dev/null
echo $? > $J/rc
dmesg > $J/dmesg.txt
echo "vm-init: done rc=$(cat $J/rc) $(cut -d' ' -f1 /proc/uptime)s" > /dev/console
sync
umount $J
poweroff -f
"""

RELOAD_SH = r"""#!/bin/sh
# vm-reload-loopback [ARGS...]: rmmod + insmod v4l2loopback with new args
/run/vm/busybox rmmod v4l2loopback 2>/dev/null
/run/vm/busybox insmod /run/vm/v4l2loopback.ko "$@"
"""


def _cpio_newc(files: dict[str, tuple[int, bytes]]) -> bytes:
    """Minimal newc cpio writer: {path: (mode, data)} (dirs have no data)."""
    out = io.BytesIO()
    ino = 1
    for name, (mode, data) in files.items():
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08X}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
        out.write(hdr.encode() + nb)
        out.write(b"\0" * ((4 - (110 + len(nb)) % 4) % 4))
        out.write(data)
        out.write(b"\0" * ((4 - len(data) % 4) % 4))
        ino += 1
    nb = b"TRAILER!!!\0"
    out.write(("070701" + "0" * 8 * 11 + f"{len(nb):08X}" + "0" * 8).encode() + nb)
    out.write(b"\0" * ((4 - (110 + len(nb)) % 4) % 4))
    return out.getvalue()


def _build_initramfs(version: str, kdir: Path, abi: str, ko: Path,
                     modprobe_args: str) -> Path:
    """The initramfs is cheap (<1 s); it is rebuilt per modprobe_args."""
    mods = _module_load_order(kdir, abi, BASE_MODULES)
    key = re.sub(r"[^A-Za-z0-9_.=-]+", "_", modprobe_args)[:80]
    digest = hashlib.sha1(modprobe_args.encode()).hexdigest()[:8]
    out = cache_dir() / f"initramfs-{abi}-{version}-{digest}-{key}.cpio.gz"
    if out.exists() and out.stat().st_mtime >= max(ko.stat().st_mtime,
                                                    Path(__file__).stat().st_mtime):
        return out
    D, X, F = 0o040755, 0o100755, 0o100644
    files: dict[str, tuple[int, bytes]] = {
        "bin": (D, b""), "dev": (D, b""), "proc": (D, b""), "sys": (D, b""),
        "mnt": (D, b""), "mnt/root": (D, b""), "vm": (D, b""), "vm/mods": (D, b""),
        "vm/bin": (D, b""),
        "bin/busybox": (X, Path("/bin/busybox").read_bytes()),
        "vm/busybox": (X, Path("/bin/busybox").read_bytes()),
        "init": (X, INIT_SH.encode()),
        "vm/modules.list": (F, "\n".join(m.name for m in mods).encode() + b"\n"),
        "vm/modprobe_args": (F, modprobe_args.encode()),
        "vm/version": (F, version.encode()),
        "vm/v4l2loopback.ko": (F, ko.read_bytes()),
        "vm/bin/vm-reload-loopback": (X, RELOAD_SH.encode()),
    }
    for m in mods:
        files[f"vm/mods/{m.name}"] = (F, m.read_bytes())
    tmp = out.with_suffix(".tmp")
    with gzip.open(tmp, "wb", compresslevel=1) as fh:
        fh.write(_cpio_newc(files))
    tmp.replace(out)
    return out


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Artifacts:
    version: str
    abi: str
    vmlinuz: Path
    ko: Path
    kdir: Path


@dataclasses.dataclass
class VMResult:
    rc: int            # command's exit code; 124 = guest timeout; -1 = VM failure
    output: str        # command's stdout+stderr
    dmesg: str         # guest kernel log after the command
    console: str       # serial console (boot + vm-init lines)
    job_dir: Path      # files the command wrote to $VM_OUT
    seconds: float     # wall time of the VM run
    booted: bool = True  # False: no attempt reached the guest's init (a QEMU/host problem)


def prepare(version: str = "0.12.7") -> Artifacts:
    """Download/unpack kernel+headers, build v4l2loopback ``version``.

    Idempotent; everything lands in cache_dir(). Returns the artifacts."""
    _need_tools()
    version = resolve_version(version)
    with _lock("prepare"):
        t0 = time.monotonic()
        kdir = _prepare_kernel()
        abi = (kdir / ".done").read_text().strip()
        ko = _prepare_loopback(version, kdir, abi)
        _log(f"prepare({version}) ready in {time.monotonic() - t0:.1f}s "
             f"(kernel {abi}, cache {cache_dir()})")
        return Artifacts(version, abi, kdir / "vmlinuz", ko, kdir)


# A guest reaches init in about 2 s of its own uptime here. Under a loaded host TCG is slower, so
# the watchdog is generous; it exists because a QEMU/TCG boot occasionally hangs before the
# kernel prints anything (seen once in CI: an empty console for 420 s, while the VM before it
# in the same run booted normally). A fresh boot then succeeds.
BOOT_TIMEOUT_S = float(os.environ.get("BACKDROP_VM_BOOT_TIMEOUT", "90"))
BOOT_ATTEMPTS = 3


def _run_qemu(qemu: list[str], console: Path, timeout: float) -> tuple[bool, bytes]:
    """Run one QEMU boot. Returns (whether the guest reached init, QEMU's own output).

    The guest's init prints "vm-init: up" on the serial console first thing; a boot that has
    not printed it after BOOT_TIMEOUT_S is killed, so the caller can try a fresh one."""
    with tempfile.TemporaryFile() as qemu_output:
        proc = subprocess.Popen(qemu, stdin=subprocess.DEVNULL,
                                stdout=qemu_output, stderr=subprocess.STDOUT)
        started = time.monotonic()
        booted = False
        while proc.poll() is None:
            elapsed = time.monotonic() - started
            if not booted:
                booted = console.exists() and b"vm-init: up" in console.read_bytes()
            if (not booted and elapsed > BOOT_TIMEOUT_S) or elapsed > timeout:
                proc.kill()
                proc.wait(timeout=30)
                qemu_output.write(b"\n[loopback_vm] qemu killed after "
                                  + (b"timeout\n" if booted else b"no boot\n"))
                break
            time.sleep(0.25)
        booted = booted or (console.exists() and b"vm-init: up" in console.read_bytes())
        qemu_output.seek(0)
        return booted, qemu_output.read()


def run_in_vm_full(command: str, version: str = "0.12.7",
                   modprobe_args: str | None = DEFAULT_MODPROBE_ARGS,
                   timeout: float = 300, files: dict[str, str | bytes] | None = None,
                   keep_job: bool = True, mem_mib: int | None = None,
                   project: Path | None = None) -> VMResult:
    """Boot the VM, run ``command`` (a ``sh`` script) in the chroot, power off.

    ``modprobe_args=None`` boots without loading v4l2loopback (load it
    yourself with ``vm-reload-loopback ARGS``). ``timeout`` bounds the command
    inside the guest; the VM as a whole gets ``timeout + 120`` s before it is
    killed. ``files`` are copied into the job dir ($VM_OUT) before boot.
    ``mem_mib`` overrides the guest RAM (default $BACKDROP_VM_MEM or 2048).
    ``project`` (a directory) is shared read-only at its own path, even under /tmp."""
    art = prepare(version)
    initrd = _build_initramfs(art.version, art.kdir, art.abi, art.ko,
                              modprobe_args or "")
    jobs = cache_dir() / "jobs"
    jobs.mkdir(exist_ok=True)
    job = Path(tempfile.mkdtemp(prefix=f"{art.version}-", dir=jobs))
    (job / "cmd.sh").write_text(command + "\n")
    (job / "timeout").write_text(f"{int(timeout)}\n")
    (job / "load_module").write_text("1\n" if modprobe_args is not None else "")
    (job / "project_path").write_text(f"{project.resolve()}\n" if project else "")
    for name, data in (files or {}).items():
        (job / name).write_bytes(data.encode() if isinstance(data, str) else data)
    console = job / "console.log"
    mem = str(mem_mib or os.environ.get("BACKDROP_VM_MEM", "2048"))
    smp = os.environ.get("BACKDROP_VM_SMP", str(min(2, os.cpu_count() or 1)))
    qemu = ["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max",
            "-m", mem, "-smp", smp, "-nodefaults", "-no-user-config",
            "-display", "none", "-monitor", "none", "-no-reboot",
            "-serial", f"file:{console}",
            "-kernel", str(art.vmlinuz), "-initrd", str(initrd),
            "-append", "console=ttyS0 loglevel=4 panic=-1 rdinit=/init "
                       "nokaslr mitigations=off tsc=reliable",
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,"
                       "readonly=on,multidevs=remap",
            "-virtfs", f"local,path={job},mount_tag=job,security_model=none"]
    if project is not None:
        qemu += ["-virtfs", f"local,path={project.resolve()},mount_tag=project,"
                            "security_model=none,readonly=on,multidevs=remap"]
    with _lock("vm", timeout=timeout + 1800):
        with step(f"VM run ({art.version}, {modprobe_args!r})"):
            t0 = time.monotonic()
            for attempt in range(1, BOOT_ATTEMPTS + 1):
                console.unlink(missing_ok=True)
                booted, qout = _run_qemu(qemu, console, timeout + 120)
                if booted:
                    break
                again = "; retrying" if attempt < BOOT_ATTEMPTS else ""
                _log(f"VM attempt {attempt}: the guest did not reach init in "
                     f"{BOOT_TIMEOUT_S:.0f} s; killed{again}")
            secs = time.monotonic() - t0

    def rd(name):
        p = job / name
        return p.read_text(errors="replace") if p.exists() else ""

    rc_text = rd("rc").strip()
    rc = int(rc_text) if rc_text.lstrip("-").isdigit() else -1
    cons = rd("console.log")
    if qout.strip():
        cons += "\n[qemu] " + qout.decode(errors="replace")
    res = VMResult(rc, rd("output.txt"), rd("dmesg.txt"), cons, job, secs, booted)
    if rc == -1:
        _log("VM did not report an exit code; console tail:\n" + cons[-3000:])
    m = re.search(r"vm-init: ready ([\d.]+)s", cons)
    if m:
        _log(f"guest ready after {m.group(1)}s guest-uptime; command done; total {secs:.1f}s")
    if not keep_job:
        shutil.rmtree(job, ignore_errors=True)
    return res


def run_in_vm(command: str, version: str = "0.12.7",
              modprobe_args: str | None = DEFAULT_MODPROBE_ARGS,
              timeout: float = 300) -> tuple[int, str]:
    """Run ``command`` in a fresh VM; return (exit code, stdout+stderr)."""
    r = run_in_vm_full(command, version, modprobe_args, timeout, keep_job=False)
    return r.rc, r.output


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("versions", help="list reachable v4l2loopback versions")
    p = sub.add_parser("prepare")
    p.add_argument("version", nargs="?", default="0.12.7")
    r = sub.add_parser("run", usage="%(prog)s VERSION [--args A] [--timeout S] -- COMMAND...")
    r.add_argument("version")
    r.add_argument("--args", default=DEFAULT_MODPROBE_ARGS,
                   help="v4l2loopback module args ('none' = do not load)")
    r.add_argument("--timeout", type=float, default=300)
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    a = ap.parse_args(argv)
    if a.cmd == "versions":
        for up, deb in available_versions().items():
            print(f"{up}\t{deb}")
        return 0
    if a.cmd == "prepare":
        print(prepare(a.version))
        return 0
    res = run_in_vm_full(" ".join(shlex.quote(c) for c in cmd) if len(cmd) > 1
                         else (cmd[0] if cmd else "true"), a.version,
                         None if a.args == "none" else a.args, a.timeout)
    sys.stdout.write(res.output)
    print(f"[loopback_vm] rc={res.rc} job_dir={res.job_dir} ({res.seconds:.1f}s)",
          file=sys.stderr)
    return res.rc if res.rc >= 0 else 99


if __name__ == "__main__":
    sys.exit(main())
