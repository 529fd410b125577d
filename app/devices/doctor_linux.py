"""The virtual-camera diagnosis on Linux: v4l2loopback installed, loaded and set up as
`backdrop setup-virtualcam` sets it up, Backdrop's device, who reads it at which size, and the
two things outside the module that hide it (Secure Boot, PipeWire)."""

from __future__ import annotations

import re
from pathlib import Path

from app.devices.consumers import holders
from app.devices.findings import FAIL, OK, WARN, Finding, Machine, running_programs
from app.devices.loopback import held_size
from app.devices.virtualcam_help import CARD_LABEL, MODULE_NAME, reload_module_hint

INSTALL_ADVICE = ("Install it: Debian/Ubuntu: sudo apt install v4l2loopback-dkms; "
                  "Fedora: sudo dnf install akmod-v4l2loopback (from RPM Fusion). "
                  "Then run `backdrop setup-virtualcam`.")
SETUP_ADVICE = "Run `backdrop setup-virtualcam` (it loads the module now and at every boot)."
FILE_ADVICE = "Backdrop can still write to a file here: backdrop run --output out.mp4"


def linux_findings(machine: Machine, output_size: tuple[int, int],
                   device: str = "") -> list[Finding]:
    """The module, then the device (`device` when the settings name one, else Backdrop's),
    then its readers; checks that need the module loaded are left out when it is not."""
    if not machine.module_dir.is_dir():
        if not machine.module_support:
            return [_no_module_support(machine)]
        return [_not_loaded(machine), *_secure_boot(machine, loaded=False)]
    findings = [_version(machine), *_secure_boot(machine, loaded=True)]
    devices = loopback_devices(machine)
    if device:
        findings.append(_chosen_device(device, devices))
        nodes = [node for node, _label in devices]
        index = nodes.index(device) if device in nodes else None
    else:
        findings.append(_device(devices))
        labels = [label for _node, label in devices]
        index = labels.index(CARD_LABEL) if CARD_LABEL in labels else 0 if devices else None
    if index is not None:
        findings.extend(_exclusive_caps(machine, index))
        findings.extend(_readers(machine, devices[index][0], output_size))
    findings.extend(_pipewire(machine))
    return findings


def _no_module_support(machine: Machine) -> Finding:
    return Finding(FAIL, f"This kernel ({machine.kernel_release}) has no loadable-module "
                         "support (there is no /proc/modules), and v4l2loopback is not built "
                         "in, so it can have no virtual camera.",
                   "Run Backdrop on a system with its distribution's standard kernel. "
                   + FILE_ADVICE)


def _not_loaded(machine: Machine) -> Finding:
    """Why the module is not loaded: not installed (perhaps for this kernel), or just not."""
    release = machine.kernel_release
    installed = _installed_module(machine)
    if installed:
        return Finding(FAIL, f"v4l2loopback is installed ({installed}) but not loaded.",
                       SETUP_ADVICE)
    if not (machine.root / "lib" / "modules" / release).is_dir():
        return Finding(FAIL, f"v4l2loopback is not installed, and there are no modules at all "
                             f"for the running kernel {release} (no /lib/modules/{release}): "
                             "the kernel was probably updated without a reboot.",
                       "Reboot, then: " + INSTALL_ADVICE)
    return Finding(FAIL, f"v4l2loopback is not installed for the running kernel {release}.",
                   INSTALL_ADVICE)


def _installed_module(machine: Machine) -> str | None:
    """Where the module file is, from modinfo or a search of /lib/modules/<release>."""
    answer = machine.run(["modinfo", "-F", "filename", MODULE_NAME])
    if answer is not None and answer[0] == 0 and answer[1]:
        return answer[1].splitlines()[0]
    modules = machine.root / "lib" / "modules" / machine.kernel_release
    try:
        found = sorted(modules.rglob(f"{MODULE_NAME}.ko*"))
    except OSError:
        return None
    return str(found[0]) if found else None


def _version(machine: Machine) -> Finding:
    version = machine.read(machine.module_dir / "version")
    builtin = "" if machine.module_support else " (built into the kernel)"
    if not version:
        return Finding(OK, f"v4l2loopback is loaded{builtin}; its version is not shown.")
    if version.startswith("0.12."):
        return Finding(WARN, f"v4l2loopback {version} is loaded{builtin}. 0.12.x cannot take a "
                             "new sender after one closes; Backdrop works around that.",
                       "If the virtual camera still fails to start: " + reload_module_hint())
    return Finding(OK, f"v4l2loopback {version} is loaded{builtin}.")


def _secure_boot(machine: Machine, loaded: bool) -> list[Finding]:
    """Secure Boot refuses unsigned modules; only where mokutil can say."""
    answer = machine.run(["mokutil", "--sb-state"])
    if answer is None or "secureboot" not in answer[1].lower():
        return []
    if "enabled" not in answer[1].lower():
        return [Finding(OK, "Secure Boot is off, so an unsigned module loads.")]
    if loaded:
        return [Finding(OK, "Secure Boot is on, and the module is signed (it loaded).")]
    return [Finding(WARN, "Secure Boot is on: the kernel loads only signed modules. If modprobe "
                          "says 'Key was rejected by service', the module is not signed with a "
                          "key the firmware knows.",
                    "Enrol DKMS's signing key: sudo mokutil --import /var/lib/dkms/mok.pub, "
                    "then reboot and accept the key in the blue MOK screen.")]


_VIDEO_NUMBER = re.compile(r"^video\d+$")


def loopback_devices(machine: Machine) -> list[tuple[str, str]]:
    """(/dev/videoN, card label) of each v4l2loopback device, in device-number order."""
    try:
        entries = [entry for entry in machine.video_dir.iterdir()
                   if _VIDEO_NUMBER.match(entry.name) and (entry / "format").exists()]
    except OSError:
        return []
    entries.sort(key=lambda entry: int(entry.name.removeprefix("video")))
    return [(str(machine.dev_dir / entry.name), machine.read(entry / "name") or "")
            for entry in entries]


def _chosen_device(device: str, devices: list[tuple[str, str]]) -> Finding:
    label = dict(devices).get(device)
    if label is None:
        return Finding(FAIL, f"The settings send to {device}, which is not a v4l2loopback "
                             "device.", "Clear the device in Backdrop's settings (output."
                                        "device), so it uses the one labelled "
                                        f"{CARD_LABEL}.")
    return Finding(OK, f"The settings send to {device} (“{label}”).")


def _device(devices: list[tuple[str, str]]) -> Finding:
    named = [node for node, label in devices if label == CARD_LABEL]
    if named and Path(named[0]).exists():
        return Finding(OK, f"{named[0]} is the virtual camera labelled “{CARD_LABEL}”.")
    if named:
        return Finding(FAIL, f"sysfs shows a device labelled “{CARD_LABEL}”, but {named[0]} "
                             "does not exist.", reload_module_hint())
    if not devices:
        return Finding(FAIL, "v4l2loopback is loaded but made no devices.",
                       "Run `backdrop setup-virtualcam --apply`, or: " + reload_module_hint())
    others = ", ".join(f"{node} “{label}”" for node, label in devices)
    return Finding(WARN, f"No loopback device is labelled “{CARD_LABEL}” (there is {others}), "
                         "so Backdrop sends to the first free one, which may be OBS's or "
                         "DroidCam's, under another name in meeting apps.",
                   "`backdrop setup-virtualcam --apply` reloads the module with a device "
                   f"labelled {CARD_LABEL} (it replaces the devices above).")


def _exclusive_caps(machine: Machine, index: int) -> list[Finding]:
    """exclusive_caps, one value per device ("Y,N,..." or "1,0,..."); Chrome needs it on."""
    text = machine.read(machine.module_dir / "parameters" / "exclusive_caps")
    if not text:
        return []
    values = [value.strip() for value in text.split(",")]
    value = values[index] if index < len(values) else values[0]
    if value in ("Y", "1"):
        return [Finding(OK, "exclusive_caps is on, so Chrome and Google Meet can list the "
                            "camera (while Backdrop sends).")]
    return [Finding(WARN, "exclusive_caps is off, so Chrome and Google Meet do not list the "
                          "camera.",
                    "Close the camera in meeting apps, then run `backdrop setup-virtualcam "
                    "--apply` (it reloads the module with exclusive_caps=1).")]


def _readers(machine: Machine, node: str, output_size: tuple[int, int]) -> list[Finding]:
    """The format the device holds, and which programs have it open."""
    name = Path(node).name
    fmt = machine.read(machine.video_dir / name / "format") or ""
    size = held_size(node, machine.video_dir)
    open_by = holders(Path(node), machine.proc_dir, machine.own_pid)
    programs = ", ".join(f"{program} (pid {pid})" for pid, program in open_by)
    width, height = output_size
    if size is None:
        lines = [Finding(OK, f"Nobody sends to {node} now (its format is empty).")]
    elif size != output_size and open_by:
        held = f"{size[0]}x{size[1]}"
        return [Finding(FAIL, f"{node} is held at {held} ({fmt}) by {programs}; Backdrop sends "
                              f"{width}x{height}, which the device refuses while they read.",
                        f"Close the camera in {programs}, or choose {held} as the output size "
                        f"(backdrop run --output-size {held}).")]
    else:
        lines = [Finding(OK, f"{node} streams {fmt}.")]
    lines.append(Finding(OK, f"{node} is open in {programs}." if open_by
                         else f"No other program has {node} open now."))
    return lines


def _pipewire(machine: Machine) -> list[Finding]:
    if "pipewire" not in running_programs(machine):
        return [Finding(OK, "PipeWire is not running; apps open the device directly.")]
    return [Finding(OK, "PipeWire is running. Apps that use its camera portal (such as "
                        "Firefox on Fedora) see the virtual camera only if PipeWire found it "
                        "while Backdrop was sending.",
                    "If such an app does not list Backdrop: start Backdrop, then run "
                    "systemctl --user restart wireplumber")]
