# SPDX-License-Identifier: Apache-2.0
"""The live-latency harness (bench/latency/, docs/design/live.md "Latency") on a short run,
so it cannot rot: a real `vigil run` records the time-code camera (bench/latency/tccam.py,
H.264 + AAC), Chromium opens the live view, and the frame reader decodes the capture time
drawn into every presented frame. Checks that the decoder reads real frames (a plausible,
positive latency under a generous 2 s; almost no undecodable frames), and the live view's
sound: the grid tile is muted with no sound control; the single view shows Unmute for a
camera with audio and, muted, decodes no audio (video only); with sound on the audio track
decodes (webkitAudioDecodedByteCount grows while currentTime advances); key M mutes. Not a speed test: the numbers are in bench/RESULTS.md."""
import json
import os
import shutil
import subprocess

import pytest

from vigil_web import ROOT, VIGIL, assert_sanitizer_clean

PW = os.path.join(ROOT, "node_modules", "playwright-core")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node")


@pytest.mark.skipif(not os.path.isdir(PW) or not os.path.exists(CHROMIUM) or not NODE,
                    reason="needs npm ci (playwright-core), node and chromium")
def test_latency_probe_and_live_audio(tmp_path):
    out = tmp_path / "lat.json"
    env = dict(os.environ, VIGIL_BIN=VIGIL, CHROMIUM=CHROMIUM, MODES="vigil", SECONDS_MEASURED="6",
               WARMUP="1", AUDIO="1", CHECK="1", OUT=str(out))
    r = subprocess.run([NODE, os.path.join(ROOT, "bench", "latency", "latency.mjs")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=240)
    print(r.stdout[-3000:])
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-6000:]
    assert_sanitizer_clean(r.stdout + r.stderr, "vigil run")
    res = json.loads(out.read_text())[0]
    # The reader decoded real presented frames, and the time code is consistent.
    assert res["size"] == "640x360", res
    assert res["frames"] >= 30, res                     # 6 s at 30 fps, generous for a loaded CI
    assert res["bad"] <= max(3, res["seen"] // 20), res  # undecodable frames are rare
    assert 0 < res["min"] <= res["median"] <= res["max"] < 2000, res
    # Grid: muted, no sound control.
    chk = res["checks"]
    assert chk["grid"] == {"muted": True, "unmute": False}, chk
    # Single view: Unmute shown; muted, no audio is decoded (video only); sound on: the
    # audio track decodes while the picture plays; key M mutes again.
    s = chk["single"]
    assert s["button"], chk
    assert s["before"]["muted"] is True and s["before"]["bytes"] == 0, s
    assert s["on1"]["muted"] is False and s["label"] == "Mute", s
    assert s["on2"]["bytes"] > s["on1"]["bytes"] > 0, s
    assert s["on2"]["t"] > s["on1"]["t"] and not s["on2"]["paused"], s
    assert s["afterKey"]["muted"] is True, s
    # The reader also works with sound on (audio + video in MSE).
    on = json.loads(out.read_text())[1]
    assert on["mode"] == "vigil, sound on" and on["frames"] >= 15 and 0 < on["median"] < 2000, on


@pytest.mark.skipif(not NODE or not shutil.which("ffmpeg"), reason="needs node and ffmpeg")
def test_livemp4_js_units():
    """ui/livemp4.js (muted tiles: audio taken out of init and fragments), node:test."""
    r = subprocess.run([NODE, "--test", os.path.join(ROOT, "tests", "web", "livemp4.test.mjs")], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
