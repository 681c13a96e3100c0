# SPDX-License-Identifier: Apache-2.0
"""Fixtures for vigil's integration tests: the real binary against real RTSP peers.

Every child process (cameras, relays, vigil) is started in its own session and killed by
pid at teardown, even when the test failed. Logs and exported files are kept under
tests/artifacts/<test>/ (gitignored) for post-mortems.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import clips    # noqa: E402
import vstream  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
ARTIFACTS = os.path.join(REPO, "tests", "artifacts")
PY = "/usr/bin/python3"  # Debian's python: python3-gi lives there
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error|"
                          r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout(seconds): hard per-test time limit")


@pytest.fixture(autouse=True)
def _hard_timeout(request):
    """Hard per-test limit when pytest-timeout (python3-pytest-timeout) is missing."""
    if request.config.pluginmanager.hasplugin("timeout"):
        yield
        return
    m = request.node.get_closest_marker("timeout")
    limit = int(m.args[0]) if m else 60

    def expire(*_a):
        raise TimeoutError("test exceeded %d s" % limit)

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------- processes

class Procs:
    """Children of one test; all are killed at teardown (by pid / process group)."""

    def __init__(self):
        self.all = []

    def spawn(self, argv, stdout, stderr, env=None):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                             env=env, start_new_session=True)
        self.all.append(p)
        return p

    def reap(self):
        for p in self.all:
            if p.poll() is None:
                _signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + 3
        for p in self.all:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(p, signal.SIGKILL)
                p.wait(5)


def _signal_group(p, sig):
    try:
        os.killpg(p.pid, sig)  # own session: the group id is the child's pid
    except ProcessLookupError:
        pass


@pytest.fixture
def procs():
    ps = Procs()
    yield ps
    ps.reap()


@pytest.fixture
def art(request):
    """Artifacts directory of this test (emptied at start, kept after)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    d = os.path.join(ARTIFACTS, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def _wait_ready(p, out_path, what, timeout=20):
    """Wait for the "READY port=P" line a tool prints; return P."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(out_path) as f:
            m = re.search(r"READY port=(\d+)", f.read())
        if m:
            return int(m.group(1))
        if p.poll() is not None:
            break
        time.sleep(0.05)
    err = open(out_path.replace(".out", ".err")).read()[-2000:]
    raise RuntimeError("%s did not start (exit %r): %s" % (what, p.poll(), err))


class Tool:
    """A helper process (camera, relay, garbage server) with its logs in the artifacts."""

    def __init__(self, procs, art, name, argv):
        self.procs, self.art, self.name, self.argv = procs, art, name, argv
        self.proc = None
        self.port = None
        self.ready_t = None
        self.starts = 0

    def start(self, port=None):
        argv = list(self.argv)
        if port is not None:
            argv += ["--port", str(port)]
        self.starts += 1
        out = os.path.join(self.art, "%s.%d.out" % (self.name, self.starts))
        err = out.replace(".out", ".err")
        self.proc = self.procs.spawn(argv, open(out, "w"), open(err, "w"))
        self.port = _wait_ready(self.proc, out, self.name)
        self.ready_t = time.monotonic()
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            _signal_group(self.proc, sig)
            self.proc.wait(10)

    def restart(self):
        """Start again on the same port (like a rebooted camera)."""
        self.stop()
        return self.start(self.port)


class Camera(Tool):
    def __init__(self, procs, art, name, clip_kind, opts):
        self.codec = clip_kind
        self.log = os.path.join(art, name + ".frames.log")
        self.user = opts.get("user", "admin")
        self.password = opts.get("password", "")
        self.path = opts.get("path", "/cam1")
        argv = [PY, os.path.join(HERE, "camera.py"), "--clip", clips.clip_path(clip_kind),
                "--codec", clip_kind, "--log", self.log, "--max-seconds", "170"]
        for k, v in opts.items():
            if v is True:
                argv.append("--" + k.replace("_", "-"))
            elif v is not False and v is not None:
                argv += ["--" + k.replace("_", "-"), str(v)]
        super().__init__(procs, art, name, argv)

    def url(self, user=None, password=None, port=None):
        user = self.user if user is None else user
        password = self.password if password is None else password
        cred = "%s:%s@" % (user, password) if password else ""
        return "rtsp://%s127.0.0.1:%d%s" % (cred, port or self.port, self.path)

    def framelog(self):
        return vstream.read_camlog(self.log)


@pytest.fixture
def camera(procs, art):
    """camera(kind="h264", name="cam", **camera.py options) -> started Camera."""
    def make(kind="h264", name="cam", **opts):
        return Camera(procs, art, name, kind, opts).start()
    return make


@pytest.fixture
def relay(procs, art):
    def make(camera_port, name="relay", **opts):
        argv = [PY, os.path.join(HERE, "udp_relay.py"), "--camera-port", str(camera_port),
                "--log", os.path.join(art, name + ".log"), "--max-seconds", "170"]
        for k, v in opts.items():
            argv += ["--" + k.replace("_", "-"), str(v)]
        return Tool(procs, art, name, argv).start()
    return make


@pytest.fixture
def garbage(procs, art):
    def make(mode, name="garbage"):
        t = Tool(procs, art, name, [PY, os.path.join(HERE, "garbage_server.py"), "--mode", mode,
                                    "--log", os.path.join(art, name + ".log"),
                                    "--max-seconds", "170"])
        t.log = os.path.join(art, name + ".log")
        return t.start()
    return make


def free_port():
    """A loopback TCP port nobody listens on (for "connection refused")."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# --------------------------------------------------------------------------- vigil

@pytest.fixture(scope="session")
def vigil_bin():
    b = os.environ.get("VIGIL_BIN", os.path.join(REPO, "build", "asan", "vigil"))
    # Fail, not skip: a missing binary is a broken build, not an environment limit.
    assert os.access(b, os.X_OK), "vigil binary not found: %s (make asan, or set VIGIL_BIN)" % b
    return b


def _env():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:halt_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


class Vigil:
    """Runs vigil subcommands against one data dir; at most one `vigil run` at a time."""

    def __init__(self, bin_, procs, art, data):
        self.bin, self.procs, self.art, self.data = bin_, procs, art, data
        self.run_proc = None
        self.runs = 0
        self.run_log = None

    def cmd(self, *args, check=True, timeout=60):
        r = subprocess.run([self.bin, *args], capture_output=True, text=True, timeout=timeout,
                           env=_env(), stdin=subprocess.DEVNULL)
        with open(os.path.join(self.art, "commands.log"), "a") as f:
            f.write("$ vigil %s\nexit %d\n%s%s\n" % (" ".join(args), r.returncode, r.stdout,
                                                     r.stderr))
        assert not SANITIZER_RE.search(r.stderr), "sanitizer report in `vigil %s`:\n%s" % (
            args[0], r.stderr[-4000:])
        if check:
            assert r.returncode == 0, "vigil %s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr[-3000:])
        return r

    def keys(self, name="footage"):
        sk = os.path.join(self.art, name + ".key")
        if os.path.exists(sk):
            os.unlink(sk)
            os.unlink(sk + ".pub")
        self.cmd("keys", "new", "--out", sk)
        assert os.path.exists(sk) and os.path.exists(sk + ".pub")
        assert os.stat(sk).st_mode & 0o077 == 0, "secret key must be mode 0600"
        return sk

    def start(self, *args):
        assert self.run_proc is None or self.run_proc.poll() is not None
        self.runs += 1
        self.run_log = os.path.join(self.art, "vigil-run.%d.stderr" % self.runs)
        # The recorder tests need no web server (tests/web covers it); without it
        # each run skips making a TLS certificate and binding a port.
        if "--listen" not in args and "--no-web" not in args:
            args = ("--no-web",) + tuple(args)
        self.run_proc = self.procs.spawn([self.bin, "run", "--data", self.data, *args],
                                         subprocess.DEVNULL, open(self.run_log, "w"), env=_env())
        return self.run_proc

    def log_text(self):
        return open(self.run_log, errors="replace").read() if self.run_log else ""

    def assert_alive(self):
        rc = self.run_proc.poll()
        assert rc is None, "vigil run exited early (%r):\n%s" % (rc, self.log_text()[-4000:])

    def stop(self, timeout=20):
        """SIGINT, then: exit 0 and no sanitizer report (the clean-stop contract)."""
        p = self.run_proc
        assert p is not None
        if p.poll() is None:
            os.kill(p.pid, signal.SIGINT)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(p, signal.SIGKILL)
                p.wait(5)
                pytest.fail("vigil run did not stop within %d s of SIGINT:\n%s"
                            % (timeout, self.log_text()[-3000:]))
        log = self.log_text()
        assert not SANITIZER_RE.search(log), "sanitizer report:\n" + log[-6000:]
        assert p.returncode == 0, "vigil run exit %d:\n%s" % (p.returncode, log[-3000:])
        return time.monotonic()

    def kill9(self):
        os.kill(self.run_proc.pid, signal.SIGKILL)
        self.run_proc.wait(10)

    def status(self, check=True):
        r = self.cmd("status", "--data", self.data, "--json", timeout=20, check=check)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def cam_status(self, name, check=True):
        st = self.status(check)
        for c in (st or {}).get("cameras", []):
            if c["name"] == name:
                return c
        return None

    def wait_cam(self, name, pred, timeout=15, what="condition"):
        """Poll status until pred(camera status) is true; return that status."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.run_proc is not None:
                self.assert_alive()
            # Tolerate failures while polling: right after start the data dir may not
            # exist yet (each failure is in commands.log).
            last = self.cam_status(name, check=False)
            if last is not None and pred(last):
                return last
            time.sleep(0.2)
        pytest.fail("timeout (%ss) waiting for %s on %s; last status: %s\nlog tail:\n%s"
                    % (timeout, what, name, json.dumps(last), self.log_text()[-2000:]))

    def export(self, key, camera, out_name="export.mp4", t_from=None, t_to=None, check=True):
        out = os.path.join(self.art, out_name)
        args = ["export", "--data", self.data, "--key", key, "--camera", camera, "--out", out]
        if t_from is not None:
            args += ["--from", str(t_from)]
        if t_to is not None:
            args += ["--to", str(t_to)]
        r = self.cmd(*args, check=check, timeout=120)
        summary = dict(re.findall(r"(\w+)=(\S+)", r.stdout + r.stderr))
        return out, summary, r

    def fsck(self, *extra):
        return self.cmd("fsck", "--data", self.data, *extra, check=False, timeout=120)


@pytest.fixture
def vigil(vigil_bin, procs, art, tmp_path):
    v = Vigil(vigil_bin, procs, art, str(tmp_path / "data"))
    yield v
    # Keep vigil's own log file with the artifacts.
    vl = os.path.join(v.data, "vigil.log")
    if os.path.exists(vl):
        shutil.copy(vl, os.path.join(art, "vigil.log"))


def assert_plays(path, codec, width=640, height=360):
    """ffprobe: one video stream of the right codec and size; ffmpeg decodes it cleanly."""
    info = vstream.probe(path)
    v = vstream.video_stream(info)
    assert v["codec_name"] == {"h264": "h264", "h265": "hevc"}[codec], info
    assert (v["width"], v["height"]) == (width, height), info
    errs = vstream.decode_errors(path)
    assert errs == [], "decode errors in %s:\n%s" % (path, "\n".join(errs[:20]))
    return info
