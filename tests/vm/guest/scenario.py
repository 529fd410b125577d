"""Guest-side probes: real pyvirtualcam producers vs real ffmpeg consumers.

Runs *inside* the loopback VM under the project's venv python, e.g.
``/work/main/.venv/bin/python tests/vm/guest/scenario.py basic``.
Writes ``$VM_OUT/result.json`` (and consumer raw frames / logs) and prints a
readable report. Every observation is recorded as evidence; "checks" say
whether the observation matches the behaviour described in the README. A
check's ``expect`` is what we *expect* on this module version; ``ok`` is
whether it held.
"""
from __future__ import annotations

import argparse
import errno
import fcntl
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import pattern  # noqa: E402

OUT = os.environ.get("VM_OUT", "/tmp")
DEV = "/dev/video0"
VIDIOC_QUERYCAP = 0x80685600
VIDIOC_STREAMON = 0x40045612
V4L2_BUF_TYPE_VIDEO_OUTPUT = 2
CAP_CAPTURE, CAP_OUTPUT = 0x1, 0x2
T0 = time.monotonic()
LOG: list[dict] = []


def ev(kind: str, **kw):
    kw = {"t": round(time.monotonic() - T0, 2), "ev": kind, **kw}
    LOG.append(kw)
    print("EV", json.dumps(kw), flush=True)
    return kw


def module_version() -> str:
    # 0.12.7's .ko carries no MODULE_VERSION; the harness exports it
    return os.environ.get("V4L2LOOPBACK_VERSION", "?")


def querycap(dev=DEV) -> dict:
    """VIDIOC_QUERYCAP via a short-lived O_RDONLY fd (note: an open+close
    is itself an opener on the device)."""
    try:
        fd = os.open(dev, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        return {"error": str(e)}
    try:
        buf = bytearray(104)
        fcntl.ioctl(fd, VIDIOC_QUERYCAP, buf)
        caps, dcaps = struct.unpack_from("II", buf, 84)
        return {"device_caps": hex(dcaps), "capture": bool(dcaps & CAP_CAPTURE),
                "output": bool(dcaps & CAP_OUTPUT)}
    except OSError as e:
        return {"error": str(e)}
    finally:
        os.close(fd)


def sysfs_format(dev=DEV) -> str:
    p = f"/sys/class/video4linux/{os.path.basename(dev)}/format"
    try:
        with open(p) as fh:
            return fh.read().strip()
    except OSError as e:
        return f"<{e.strerror}>"


class Producer(threading.Thread):
    """A pyvirtualcam producer in a thread, streaming the test pattern."""

    def __init__(self, w, h, session, fps=20, fix=None, break_after=None,
                 max_seconds=60):
        super().__init__(daemon=True)
        self.w, self.h, self.session, self.fps = w, h, session, fps
        self.fix = fix            # None | "keep" (close after cam) | "early"
        self.break_after = break_after
        self.max_seconds = max_seconds
        self.opened = threading.Event()
        self.stop_ev = threading.Event()
        self.error = None
        self.sent = 0
        self.send_exceptions = []
        self.fix_fd = None
        self.fix_result = None

    def run(self):
        import pyvirtualcam
        try:
            cam = pyvirtualcam.Camera(self.w, self.h, self.fps, device=DEV,
                                      backend="v4l2loopback",
                                      fmt=pyvirtualcam.PixelFormat.BGR)
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"
            ev("producer_open", size=f"{self.w}x{self.h}", ok=False, error=self.error)
            self.opened.set()
            return
        ev("producer_open", size=f"{self.w}x{self.h}", ok=True, session=self.session)
        if self.fix:
            self._apply_fix()
        self.opened.set()
        deadline = time.monotonic() + self.max_seconds
        try:
            while not self.stop_ev.is_set() and time.monotonic() < deadline:
                if self.break_after is not None and self.sent == self.break_after:
                    self._break_fd()
                frame = pattern.make_frame_bgr(self.w, self.h, self.session, self.sent)
                try:
                    cam.send(frame)
                except Exception as e:
                    self.send_exceptions.append(f"{type(e).__name__}: {e}")
                self.sent += 1
                cam.sleep_until_next_frame()
        finally:
            cam.close()
            ev("producer_closed", session=self.session, sent=self.sent,
               send_exceptions=self.send_exceptions[:3])
            if self.fix_fd is not None:
                os.close(self.fix_fd)
                ev("fix_fd_closed", after="camera close")

    def _apply_fix(self):
        """Second fd + VIDIOC_STREAMON(OUTPUT): marks an opener as WRITER on
        0.12.x so that closing it re-arms ready_for_output."""
        fd = os.open(DEV, os.O_RDWR)
        try:
            fcntl.ioctl(fd, VIDIOC_STREAMON, struct.pack("i", V4L2_BUF_TYPE_VIDEO_OUTPUT))
            self.fix_result = "ok"
        except OSError as e:
            self.fix_result = f"{errno.errorcode.get(e.errno, e.errno)} ({e.strerror})"
        ev("fix_streamon", result=self.fix_result, mode=self.fix)
        if self.fix == "early":
            os.close(fd)
            ev("fix_fd_closed", after="streamon (early)")
        else:
            self.fix_fd = fd

    def _break_fd(self):
        """Make pyvirtualcam's own fd unwritable (dup2 a read-only fd over
        it) so write() fails with EBADF -- shows how send() reports errors."""
        fds = [int(f) for f in os.listdir("/proc/self/fd")
               if os.path.realpath(f"/proc/self/fd/{f}") == DEV and int(f) != self.fix_fd]
        ro = os.open("/dev/null", os.O_RDONLY)
        for f in fds:
            os.dup2(ro, f)
        os.close(ro)
        ev("broke_camera_fd", fds=fds, at_frame=self.sent)

    def stop(self, timeout=30):
        self.stop_ev.set()
        self.join(timeout)


VIDIOC_S_FMT = 0xC0D05605
V4L2_PIX_FMT_YUV420 = 0x32315559  # 'YU12'


class RawProducer(Producer):
    """Does exactly what pyvirtualcam's v4l2loopback backend does (open
    O_WRONLY|O_SYNC, QUERYCAP, S_FMT(OUTPUT, YU12), write() per frame) but
    records what S_FMT returned and what each write() returned."""

    def run(self):
        import cv2
        try:
            fd = os.open(DEV, os.O_WRONLY | os.O_SYNC)
        except OSError as e:
            self.error = str(e)
            self.opened.set()
            return
        buf = bytearray(104)
        fcntl.ioctl(fd, VIDIOC_QUERYCAP, buf)
        dcaps = struct.unpack_from("I", buf, 88)[0]
        if not dcaps & CAP_OUTPUT:
            self.error = f"not a video output device (device_caps={hex(dcaps)})"
            ev("producer_open", raw=True, ok=False, error=self.error)
            os.close(fd)
            self.opened.set()
            return
        fmt = bytearray(208)
        struct.pack_into("I", fmt, 0, V4L2_BUF_TYPE_VIDEO_OUTPUT)
        struct.pack_into("III", fmt, 8, self.w, self.h, V4L2_PIX_FMT_YUV420)
        fcntl.ioctl(fd, VIDIOC_S_FMT, fmt)
        w, h, _, _, bpl, sizeimage = struct.unpack_from("IIIIII", fmt, 8)
        self.s_fmt_returned = f"{w}x{h} sizeimage={sizeimage}"
        ev("producer_open", raw=True, ok=True, requested=f"{self.w}x{self.h}",
           s_fmt_returned=self.s_fmt_returned, session=self.session)
        self.opened.set()
        self.write_returns = {}
        want = self.w * self.h * 3 // 2
        try:
            while not self.stop_ev.is_set():
                frame = cv2.cvtColor(pattern.make_frame_bgr(self.w, self.h, self.session,
                                                            self.sent), cv2.COLOR_BGR2YUV_I420)
                try:
                    n = os.write(fd, frame.tobytes())
                except OSError as e:
                    n = f"errno {errno.errorcode.get(e.errno)}"
                key = f"{n} of {want}"
                self.write_returns[key] = self.write_returns.get(key, 0) + 1
                self.sent += 1
                time.sleep(1 / self.fps)
        finally:
            os.close(fd)
            ev("producer_closed", raw=True, sent=self.sent, write_returns=self.write_returns)


class Consumer:
    """ffmpeg -f v4l2 reading N frames as rgb24 rawvideo."""

    def __init__(self, name, frames=20, timeout=40):
        self.name = name
        os.makedirs("/tmp/consumer", exist_ok=True)   # guest tmpfs: faster than 9p
        self.raw = os.path.join("/tmp/consumer", f"{name}.rgb")
        self.logf = os.path.join(OUT, f"{name}.ffmpeg.log")
        cmd = ["timeout", "-s", "INT", "-k", "5", str(timeout),
               "ffmpeg", "-hide_banner", "-nostdin", "-y", "-f", "v4l2", "-i", DEV,
               "-fps_mode", "passthrough", "-frames:v", str(frames),
               "-pix_fmt", "rgb24", "-f", "rawvideo", self.raw]
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.logf, "w"))
        self.samples: list[tuple[float, int]] = []   # (t since T0, bytes written)
        threading.Thread(target=self._monitor, daemon=True).start()
        ev("consumer_start", name=name, frames=frames)

    def _monitor(self):
        while self.proc.poll() is None:
            try:
                n = os.path.getsize(self.raw)
            except OSError:
                n = 0
            self.samples.append((time.monotonic() - T0, n))
            time.sleep(0.2)

    def bytes_now(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def wait_frames(self, n, frame_bytes, timeout=40) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.bytes_now() >= n * frame_bytes:
                return True
            time.sleep(0.2)
        return False

    def interrupt(self):
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # timeout(1) forwards SIGINT to ffmpeg

    def wait(self, timeout=120) -> dict:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(10)
        log = open(self.logf).read()
        m = re.search(r"Input #0.*?Video: .*?, (\d+)x(\d+)", log, re.S)
        res = {"name": self.name, "rc": rc,
               "seconds": round(time.monotonic() - self.t_start, 1),
               "ffmpeg_tail": log.strip().splitlines()[-3:]}
        if m and os.path.exists(self.raw):
            w, h = int(m.group(1)), int(m.group(2))
            frames = pattern.analyse_rawvideo(self.raw, w, h)
            res.update(size=f"{w}x{h}", summary=pattern.summarise(frames),
                       first=frames[0] if frames else None,
                       last=frames[-1] if frames else None)
            if frames:
                _save_png(self.raw, w, h, len(frames) - 1,
                          os.path.join(OUT, f"{self.name}.last.png"))
        else:
            res["error"] = re.findall(r".*(?:rror|Invalid|not a|Cannot).*", log)[:3]
        ev("consumer_done", **res)
        return res


def _save_png(raw, w, h, idx, path):
    try:
        import cv2
        data = np.fromfile(raw, np.uint8)[idx * w * h * 3:(idx + 1) * w * h * 3]
        cv2.imwrite(path, data.reshape(h, w, 3)[:, :, ::-1])
    except Exception:
        pass


def progressed(c: dict, session: int, min_frames=5) -> bool:
    """Consumer got >= min_frames correct-pixel frames of `session` with
    strictly advancing counters."""
    runs = [r for r in c.get("summary", {}).get("runs", []) if r["session"] == session]
    return any(r["n"] >= min_frames and r["last"] is not None and r["first"] is not None
               and r["last"] - r["first"] >= r["n"] - 1 - r["repeats"] and r["repeats"] == 0
               for r in runs)


CHECKS: list[dict] = []


def check(key, observed, description, **evidence):
    """Record an observation (a yes/no fact) with its evidence. Whether the
    fact is *expected* on a given module version is decided by probes.py."""
    d = {"key": key, "check": description, "ok": bool(observed), "evidence": evidence}
    CHECKS.append(d)
    print(f"OBS {key}={bool(observed)} ({description})", json.dumps(evidence, default=str)[:600],
          flush=True)


def wait_open(p: Producer, timeout=60):
    p.start()
    if not p.opened.wait(timeout):
        raise RuntimeError("producer did not open in time")
    time.sleep(0.5)  # let a few frames through


# ------------------------------------------------------------------ scenarios

def sc_basic(a):
    """pyvirtualcam 640x480 BGR -> ffmpeg, pixel-checked."""
    p = Producer(640, 480, 0)
    wait_open(p)
    cap = querycap()
    fmt = sysfs_format()
    c = Consumer("basic", frames=a.frames).wait()
    p.stop()
    check("frames_ok", progressed(c, 0, min(5, a.frames)),
          "ffmpeg got pattern frames (right colours, advancing counters)", consumer=c,
          caps_during=cap,
          sysfs_format=fmt)


def sc_exclusive_caps(a):
    """exclusive_caps=1: capture only while a producer streams."""
    before = querycap()
    c_before = Consumer("before", frames=3, timeout=15).wait()
    p = Producer(640, 480, 0)
    wait_open(p)
    during = querycap()
    c_during = Consumer("during", frames=5).wait()
    p.stop()
    time.sleep(0.5)
    after = querycap()
    c_after = Consumer("after", frames=3, timeout=15).wait()
    check("before_output_only",
          before.get("output") and not before.get("capture") and c_before["rc"] != 0,
          "before any producer: OUTPUT caps only, ffmpeg can't capture", caps=before,
          ffmpeg=c_before.get("error") or c_before.get("ffmpeg_tail"))
    check("during_capture_only",
          during.get("capture") and not during.get("output") and progressed(c_during, 0, 5),
          "while streaming: CAPTURE caps only, ffmpeg gets pattern frames", caps=during,
          consumer_summary=c_during.get("summary"))
    check("after_not_capturable", not after.get("capture") and c_after["rc"] != 0,
          "after the producer closed: no CAPTURE caps, ffmpeg can't capture", caps=after,
          ffmpeg=c_after.get("error") or c_after.get("ffmpeg_tail"))


def sc_reopen_after_close(a):
    """Issue #61: can a producer reopen after the previous one closed?"""
    p1 = Producer(640, 480, 0, fix=a.fix)
    wait_open(p1)
    time.sleep(1.5)
    p1.stop()
    time.sleep(0.5)
    caps_between = querycap()
    p2 = Producer(640, 480, 1)
    wait_open(p2)
    c = Consumer("second", frames=8).wait() if p2.error is None else None
    p2.stop()
    check("second_open_ok", p2.error is None,
          f"a new pyvirtualcam can open after the first closed (fix={a.fix})",
          second_open_error=p2.error, caps_between=caps_between,
          fix_streamon=p1.fix_result)
    if p2.error is not None:   # does a module reload bring the output back?
        args = open("/run/vm/modprobe_args").read().split()
        r = subprocess.run(["vm-reload-loopback", *args], capture_output=True, text=True,
                           timeout=60)
        ev("module_reloaded", rc=r.returncode, out=(r.stdout + r.stderr)[-300:])
        time.sleep(1)
        p3 = Producer(640, 480, 2)
        wait_open(p3)
        c3 = Consumer("after_reload", frames=8).wait() if p3.error is None else None
        p3.stop()
        check("open_after_reload_ok", p3.error is None and c3 is not None
              and progressed(c3, 2, 5),
              "after rmmod+insmod a producer opens again and ffmpeg gets its frames",
              reload_rc=r.returncode, open_error=p3.error,
              consumer_summary=c3 and c3.get("summary"))
    if a.fix:
        check("fix_streamon_ok", p1.fix_result == "ok",
              "VIDIOC_STREAMON(OUTPUT) on a second fd succeeds", result=p1.fix_result)
    if c is not None:
        check("second_frames_ok", progressed(c, 1, 5),
              "frames from the reopened producer reach ffmpeg",
              consumer_summary=c.get("summary"))


def sc_reopen_size(a):
    """Producer reopens at another size while ffmpeg keeps reading."""
    w2, h2 = map(int, a.to.split("x"))
    fb = 640 * 480 * 3
    p1 = Producer(640, 480, 0, fix=a.fix)
    wait_open(p1)
    fmt1 = sysfs_format()
    c = Consumer("reader", frames=100_000, timeout=120)
    reading = c.wait_frames(5, fb, timeout=60)
    n_before = c.bytes_now() // fb
    ev("consumer_reading", ok=reading, frames=n_before)
    p1.stop()
    t_reopen = time.monotonic() - T0
    p2 = (RawProducer if a.raw_second else Producer)(w2, h2, 1, fix=a.fix)
    wait_open(p2)
    fmt2 = sysfs_format()
    caps2 = querycap()
    n_open2 = c.bytes_now() // fb
    time.sleep(a.second_seconds)
    n_end = c.bytes_now() // fb
    sent2_before_stop = p2.sent
    p2.stop()
    c.interrupt()
    cr = c.wait()
    runs = cr.get("summary", {}).get("runs", [])
    err = open(os.path.join(OUT, "producer_stderr.txt")).read()
    check("consumer_was_reading", reading,
          "ffmpeg was streaming frames before the reopen", frames_before_reopen=n_before)
    check("second_open_ok", p2.error is None,
          f"a new pyvirtualcam at {a.to} can open while ffmpeg reads (fix={a.fix})",
          second_open_error=p2.error, fix_streamon=[p1.fix_result, p2.fix_result])
    check("format_unchanged", fmt2 == fmt1,
          "sysfs format after the reopen is still the first size",
          format_before=fmt1, format_after=fmt2, caps_after=caps2)
    check("consumer_froze", p2.error is None and sent2_before_stop > 0 and n_end == n_open2,
          f"ffmpeg received no frame during {a.second_seconds}s of the second producer",
          frames_received_while_second_streamed=n_end - n_open2,
          second_producer_frames_sent=sent2_before_stop, t_reopen=round(t_reopen, 1),
          consumer_rc=cr["rc"], consumer_runs=runs, consumer_size=cr.get("size"),
          ffmpeg_tail=cr.get("ffmpeg_tail"), write_error_messages=err.count("error writing"))
    check("second_session_seen", progressed(cr, 1, 3),
          "ffmpeg decoded frames of the second producer", consumer_runs=runs)
    if a.raw_second and p2.error is None:
        wr = getattr(p2, "write_returns", {})
        check("writes_cut", any(not k.startswith(str(w2 * h2 * 3 // 2) + " ") for k in wr),
              "the reopened producer's write() returned fewer bytes than a frame",
              s_fmt_returned=p2.s_fmt_returned, requested=a.to, write_returns=wr)


def sc_write_errors(a):
    """pyvirtualcam send(): write() failures are printed, not raised."""
    p = Producer(640, 480, 0, break_after=10)
    wait_open(p)
    time.sleep(2)
    p.stop()
    sys.stderr.flush()
    err = open(os.path.join(OUT, "producer_stderr.txt")).read()
    n = err.count("error writing frame")
    check("printed_not_raised", not p.send_exceptions and n > 0 and p.sent > 10,
          "write() failing (EBADF): send() raises nothing, prints to stderr",
          frames_sent=p.sent, send_exceptions=p.send_exceptions[:3],
          stderr_messages=n, stderr_sample=err[:160])


def sc_chromium(a):
    """Headless Chromium getUserMedia() on the loopback device."""
    import shutil
    exe = shutil.which("chromium")
    if not exe:
        check("chromium_frames_ok", False, "chromium is installed", path=None)
        return
    p = Producer(640, 480, 0, max_seconds=a.chromium_timeout + 30)
    wait_open(p)
    page = "file://" + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "chromium_page.html")
    logf = os.path.join(OUT, "chromium.log")
    t = time.monotonic()
    proc = subprocess.Popen(
        ["timeout", "-k", "5", str(a.chromium_timeout), exe, "--headless", "--no-sandbox",
         "--disable-gpu", "--use-fake-ui-for-media-stream", "--enable-logging=stderr",
         "--v=0", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--user-data-dir=/tmp/chromium",
         "--autoplay-policy=no-user-gesture-required", page],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(logf, "w"))
    result, opened = None, None
    while proc.poll() is None and result is None:
        time.sleep(1)
        txt = open(logf, errors="replace").read()
        for tag in ("OPENED", "RESULT"):
            m = re.search(tag + r' (\{.*\})", source', txt)
            if m:
                val = json.loads(m.group(1))
                if tag == "OPENED":
                    opened = opened or (val, round(time.monotonic() - t, 1))
                else:
                    result = (val, round(time.monotonic() - t, 1))
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    p.stop()
    frames = (result or ({},))[0].get("frames") or []
    cols = pattern.SESSIONS[0]
    good = [f for f in frames if f.get("counter") is not None and all(
        max(abs(q[k] - cols[i][k]) for k in range(3)) <= pattern.TOL
        for i, q in enumerate(f["quads"]))]
    counters = [f["counter"] for f in good]
    check("chromium_frames_ok", len(good) >= 3 and len(set(counters)) >= 3,
          "headless Chromium getUserMedia() decoded the pattern with advancing counters",
          opened=opened, result_after_s=result and result[1], frames=frames[:8],
          error=(result or ({},))[0].get("error"),
          log_tail=open(logf, errors="replace").read().splitlines()[-6:] if not result else None)


SCENARIOS = {"chromium": sc_chromium, "basic": sc_basic, "exclusive_caps": sc_exclusive_caps,
             "reopen_after_close": sc_reopen_after_close,
             "reopen_size": sc_reopen_size, "write_errors": sc_write_errors}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--fix", choices=["keep", "early"], default=None)
    ap.add_argument("--to", default="1280x720", help="reopen size (reopen_size)")
    ap.add_argument("--chromium-timeout", type=int, default=240)
    ap.add_argument("--raw-second", action="store_true",
                    help="reopen_size: second producer is a raw write() producer that "
                         "records S_FMT/write() results (same calls as pyvirtualcam)")
    ap.add_argument("--second-seconds", type=float, default=6,
                    help="how long the reopened producer streams (reopen_size)")
    a = ap.parse_args()
    # pyvirtualcam's C++ code prints to fd 2: keep it in a file of its own
    errf = open(os.path.join(OUT, "producer_stderr.txt"), "w")
    saved = os.dup(2)
    os.dup2(errf.fileno(), 2)
    sys.stderr = os.fdopen(saved, "w", buffering=1)
    info = {"scenario": a.scenario, "args": vars(a), "module_version": module_version(),
            "modprobe_args": open("/run/vm/modprobe_args").read().strip()
            if os.path.exists("/run/vm/modprobe_args") else None}
    import pyvirtualcam
    info["pyvirtualcam"] = pyvirtualcam.__version__
    print("INFO", json.dumps(info), flush=True)
    try:
        SCENARIOS[a.scenario](a)
    except Exception as e:
        import traceback
        traceback.print_exc(file=sys.stdout)
        check("scenario ran to completion", False, error=repr(e))
    with open(os.path.join(OUT, "result.json"), "w") as fh:
        json.dump({**info, "checks": CHECKS, "events": LOG}, fh, indent=1, default=str)
    ok = all(c["ok"] for c in CHECKS)
    print(f"SCENARIO {a.scenario}: {'all checks held' if ok else 'some checks did not hold'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
