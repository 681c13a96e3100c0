# SPDX-License-Identifier: Apache-2.0
"""Camera key rotation in the browser, end to end against a real `vigil run
--demo` (tests/web/browser_rotation.test.mjs, Playwright + Chromium): the
admin's browser rotates the key (during live view, with "Rotate now", and by
itself at sign-in when the period is due); live and playback decrypt footage
of every period. Screenshots: tests/artifacts/2*.png."""
import os
import shutil
import subprocess

import pytest

from vigil_web import ROOT, VIGIL

PW = os.path.join(ROOT, "node_modules", "playwright-core")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node")


@pytest.mark.skipif(not os.path.isdir(PW) or not os.path.exists(CHROMIUM) or not NODE,
                    reason="needs npm ci (playwright-core), node and chromium")
def test_browser_rotation():
    env = dict(os.environ, VIGIL_BIN=VIGIL, CHROMIUM=CHROMIUM)
    r = subprocess.run([NODE, os.path.join(ROOT, "tests", "web", "browser_rotation.test.mjs")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=400)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-6000:]
    assert r.stdout.count("ok  ") >= 15, r.stdout
