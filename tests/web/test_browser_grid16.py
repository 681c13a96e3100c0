# SPDX-License-Identifier: Apache-2.0
"""The 16-camera live grid on substreams, in Chromium (tests/web/grid16.test.mjs),
against `vigil run` and 16 real RTSP cameras with a main stream (640x360) and a
substream (320x180) each, served from pre-encoded clips by one gst-rtsp-server
process (tests/web/multicam.py: 32 mount points, nothing encoded at run time).
Asserts every tile plays its substream without stalls and the single view plays
the main stream; the measurements (CPU of vigil, Chromium and the cameras,
dropped frames, longest stall per tile) go to tests/artifacts/grid16.json."""
import json
import os
import re
import shutil
import subprocess

import pytest

from vigil_web import ROOT, VIGIL

PW = os.path.join(ROOT, "node_modules", "playwright-core")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ART = os.path.join(ROOT, "tests", "artifacts")
NODE = shutil.which("node")
PY = "/usr/bin/python3"


def _have_gst_rtsp():
    r = subprocess.run([PY, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                        "from gi.repository import GstRtspServer"], capture_output=True)
    return r.returncode == 0


@pytest.mark.skipif(not os.path.isdir(PW) or not os.path.exists(CHROMIUM) or not NODE or not _have_gst_rtsp(),
                    reason="needs npm ci (playwright-core), node, chromium and gst-rtsp-server (python3-gi)")
def test_grid16_substreams_no_stalls():
    os.makedirs(ART, exist_ok=True)
    user, password = "grid", "Gr1d-Cam-Pw"
    cams = subprocess.Popen([PY, os.path.join(ROOT, "tests", "web", "multicam.py"),
                             "--main", os.path.join(ROOT, "assets", "demo.mp4"),
                             "--sub", os.path.join(ROOT, "assets", "demo-sub.mp4"),
                             "--cameras", "16", "--user", user, "--password", password, "--max-seconds", "300"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = cams.stdout.readline()
        m = re.match(r"READY port=(\d+)", line)
        assert m, line + cams.stderr.read()
        env = dict(os.environ, VIGIL_BIN=VIGIL, CHROMIUM=CHROMIUM, RTSP_PORT=m.group(1), RTSP_USER=user,
                   RTSP_PASSWORD=password, MAIN_W="640", SUB_W="320", CAMS_PID=str(cams.pid))
        r = subprocess.run([NODE, os.path.join(ROOT, "tests", "web", "grid16.test.mjs")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
        print(r.stdout)
        rep = [ln[7:] for ln in r.stdout.splitlines() if ln.startswith("REPORT ")]
        if rep:
            with open(os.path.join(ART, "grid16.json"), "w") as f:
                json.dump(json.loads(rep[-1]), f, indent=1)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-6000:]
        assert cams.poll() is None, "the camera server died"
    finally:
        cams.terminate()
        try:
            cams.wait(10)
        except subprocess.TimeoutExpired:
            cams.kill()
