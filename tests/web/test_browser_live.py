# SPDX-License-Identifier: Apache-2.0
"""Watching in the browser, end to end against a real `vigil run --demo`
(tests/web/browser_live.test.mjs, Playwright + Chromium): camera key made in the
browser, live view, timeline seek, export. The exported MP4 (decrypted by the
browser) is then checked with ffprobe here. Also runs the node unit tests of
the browser's footage code (tests/web/footage.test.mjs).
Screenshots: tests/artifacts/1*.png; export: tests/artifacts/live-export.mp4."""
import json
import os
import shutil
import subprocess

import pytest

from vigil_web import ROOT, VIGIL

PW = os.path.join(ROOT, "node_modules", "playwright-core")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ART = os.path.join(ROOT, "tests", "artifacts")
NODE = shutil.which("node")


@pytest.mark.skipif(not NODE, reason="needs node")
def test_footage_js_units():
    r = subprocess.run([NODE, "--test", os.path.join(ROOT, "tests", "web", "footage.test.mjs")], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def _run_supports_web():
    try:
        r = subprocess.run([VIGIL, "run", "--help"], capture_output=True, text=True, timeout=10)
    except OSError:
        return False
    return "--listen" in r.stdout + r.stderr


@pytest.mark.skipif(not os.path.isdir(PW) or not os.path.exists(CHROMIUM) or not NODE or not shutil.which("ffprobe"),
                    reason="needs npm ci (playwright-core), node, chromium and ffprobe")
def test_browser_live_playback_export():
    assert _run_supports_web(), "vigil run has no --listen (web server not embedded)"
    os.makedirs(ART, exist_ok=True)
    out = os.path.join(ART, "live-export.mp4")
    if os.path.exists(out):
        os.unlink(out)
    env = dict(os.environ, VIGIL_BIN=VIGIL, CHROMIUM=CHROMIUM, EXPORT_PATH=out)
    r = subprocess.run([NODE, os.path.join(ROOT, "tests", "web", "browser_live.test.mjs")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=400)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-6000:]

    # The browser's export opens in a standard demuxer and decodes.
    p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                        "stream=codec_name,width,height,nb_read_frames:format=duration,format_name",
                        "-of", "json", out], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    video = [s for s in info["streams"] if s.get("codec_name") == "h264"]
    assert video, info
    assert (video[0]["width"], video[0]["height"]) == (640, 360), info
    assert int(video[0]["nb_read_frames"]) >= 20, info
    assert "mp4" in info["format"]["format_name"], info
    dur = float(info["format"].get("duration", 0))
    assert 1.0 <= dur < 3600, info        # rebased to start at 0, not at the epoch
    # Decode every frame without a muxer (ffmpeg -f null re-times frames and reports timestamp
    # rounding of variable-rate files as errors).
    d = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "frame=pict_type", "-of", "csv", out],
                       capture_output=True, text=True, timeout=60)
    assert d.returncode == 0 and not d.stderr.strip(), d.stderr[-2000:]
