#!/usr/bin/env python3
"""Run the behaviour probes (guest/scenario.py) in fresh VMs, one per probe.

    python3 tests/vm/probes.py                       # all probes, 0.12.7 + latest
    python3 tests/vm/probes.py -V 0.15.4 basic write_errors
    python3 tests/vm/probes.py --json /tmp/probes.json

Each probe boots its own VM (fresh module state, ~20-35 s each under TCG).
Each probe records observations (yes/no facts with evidence); PROBES below
says which value we expect per release family. Exit code 0 when no
observation contradicts an expectation.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loopback_vm  # noqa: E402

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "guest" / "scenario.py"
VENV_PY = Path(os.environ.get("BACKDROP_VM_PYTHON",
                              HERE.parent.parent / ".venv" / "bin" / "python"))

# name -> (scenario.py arguments, {observation key: {version family: expected}})
# Expectations are what we believe each release does (README); a probe run
# reports "as expected" / "UNEXPECTED" per observation. None = no expectation.
B, N = "0.12", "0.15"
PROBES = {
    "basic": ("basic", {"frames_ok": {B: True, N: True}}),
    "exclusive_caps": ("exclusive_caps", {
        "before_output_only": {B: True, N: True},
        "during_capture_only": {B: True, N: True},
        "after_not_capturable": {B: True, N: True}}),
    "reopen_after_close": ("reopen_after_close", {
        "second_open_ok": {B: False, N: True},
        "open_after_reload_ok": {B: True, N: None},
        "second_frames_ok": {B: None, N: True}}),
    "reopen_after_close_fix": ("reopen_after_close --fix keep", {
        "second_open_ok": {B: True, N: True},
        "fix_streamon_ok": {B: True, N: False},
        "second_frames_ok": {B: True, N: True}}),
    "reopen_after_close_fix_early": ("reopen_after_close --fix early", {
        "second_open_ok": {B: False, N: True},
        "open_after_reload_ok": {B: True, N: None},
        "fix_streamon_ok": {B: True, N: False},
        "second_frames_ok": {B: None, N: True}}),
    "reopen_bigger": ("reopen_size --to 1280x720", {
        "consumer_was_reading": {B: True, N: True},
        "second_open_ok": {B: False, N: True},
        "format_unchanged": {B: True, N: True},
        "consumer_froze": {B: False, N: True},   # 0.12: no 2nd producer to freeze under
        "second_session_seen": {B: False, N: False}}),
    "reopen_bigger_fix": ("reopen_size --to 1280x720 --fix keep", {
        "consumer_was_reading": {B: True, N: True},
        "second_open_ok": {B: True, N: True},
        "format_unchanged": {B: True, N: True},
        "consumer_froze": {B: True, N: True},
        "second_session_seen": {B: False, N: False}}),
    "reopen_smaller_fix": ("reopen_size --to 320x240 --fix keep", {
        "consumer_was_reading": {B: True, N: True},
        "second_open_ok": {B: True, N: True},
        "format_unchanged": {B: True, N: True},
        "consumer_froze": {B: True, N: True},
        "second_session_seen": {B: False, N: False}}),
    "reopen_bigger_raw_fix": ("reopen_size --to 1280x720 --fix keep --raw-second", {
        "consumer_was_reading": {B: True, N: True},
        "second_open_ok": {B: True, N: True},
        "format_unchanged": {B: True, N: True},
        "consumer_froze": {B: True, N: True},
        "writes_cut": {B: True, N: True}}),
    "write_errors": ("write_errors", {"printed_not_raised": {B: True, N: True}}),
    # slow (Chromium under TCG); not in the default set, ask for it by name
    "chromium": ("chromium", {"chromium_frames_ok": {B: True, N: True}}),
}
OPTIONAL = {"chromium"}
TIMEOUTS = {"chromium": 420}
MEMORY = {"chromium": 3072}


def family(version: str) -> str:
    return ".".join(version.split(".")[:2])


def judge(probe: str, version: str, checks: list[dict]) -> list[dict]:
    exp = {**PROBES[probe][1], "result_json": {B: True, N: True}}
    for c in checks:
        e = exp.get(c.get("key"), {}).get(family(version))
        c["expected"] = e
        c["verdict"] = ("no expectation" if e is None else
                        "as expected" if c["ok"] == e else "UNEXPECTED")
    for k, fam in exp.items():   # an expected observation that never happened
        seen = {c.get("key") for c in checks}
        if k != "result_json" and fam.get(family(version)) is not None and k not in seen:
            checks.append({"key": k, "check": "(not observed)", "ok": None,
                           "expected": fam[family(version)], "verdict": "UNEXPECTED",
                           "evidence": {}})
    return checks


def wait_for_venv(timeout=1800):
    """The venv may still be being created by CI: wait until it imports."""
    import subprocess
    deadline = time.monotonic() + timeout
    while True:
        if VENV_PY.exists():
            r = subprocess.run([str(VENV_PY), "-c", "import pyvirtualcam, numpy"],
                               capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
            if r.returncode == 0:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{VENV_PY} never became importable")
        time.sleep(10)


def run_probe(name: str, version: str, modprobe_args: str = loopback_vm.DEFAULT_MODPROBE_ARGS,
              timeout: float | None = None) -> dict:
    cmd = f"{shlex.quote(str(VENV_PY))} {shlex.quote(str(SCENARIO))} {PROBES[name][0]}"
    res = loopback_vm.run_in_vm_full(cmd, version, modprobe_args,
                                     timeout=timeout or TIMEOUTS.get(name, 240),
                                     mem_mib=MEMORY.get(name))
    rj = res.job_dir / "result.json"
    data = json.loads(rj.read_text()) if rj.exists() else {"checks": [
        {"key": "result_json", "check": "scenario produced result.json", "ok": False,
         "evidence": {"rc": res.rc, "output_tail": res.output[-2000:],
                      "console_tail": res.console[-1500:]}}]}
    data["checks"] = judge(name, version, data["checks"])
    data.update(probe=name, version=version, rc=res.rc, vm_seconds=round(res.seconds, 1),
                job_dir=str(res.job_dir),
                v4l2loopback_dmesg=[ln for ln in res.dmesg.splitlines()
                                    if "v4l2" in ln.lower()][-8:])
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("probes", nargs="*", help=f"subset of {list(PROBES)}")
    ap.add_argument("-V", "--version", action="append",
                    help="v4l2loopback version(s); default 0.12.7 and latest")
    ap.add_argument("--json", help="write all results here")
    a = ap.parse_args()
    a.probes = a.probes or [p for p in PROBES if p not in OPTIONAL]
    bad = [p for p in a.probes if p not in PROBES]
    if bad:
        ap.error(f"unknown probes {bad}; known: {list(PROBES)}")
    versions = [loopback_vm.resolve_version(v) for v in (a.version or ["0.12.7", "latest"])]
    wait_for_venv()
    results = []
    for v in versions:
        loopback_vm.prepare(v)
        for p in a.probes:
            print(f"=== {v} {p}", flush=True)
            d = run_probe(p, v)
            results.append(d)
            for c in d["checks"]:
                print(f"  {c['verdict']:14} {c.get('key')}={c['ok']}  {c['check']}")
                print("       " + json.dumps(c["evidence"], default=str)[:400])
            print(f"  ({d['vm_seconds']}s, job dir {d['job_dir']})", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1, default=str))
    print("\nSUMMARY")
    for d in results:
        obs = " ".join(f"{c.get('key')}={c['ok']}"
                       + ("" if c["verdict"] != "UNEXPECTED" else "(UNEXPECTED)")
                       for c in d["checks"])
        print(f"  {d['version']:7} {d['probe']:29} {d['vm_seconds']:5}s  {obs}")
    return 0 if all(c["verdict"] != "UNEXPECTED" for d in results for c in d["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
