# SPDX-License-Identifier: Apache-2.0
"""Runs the Playwright browser test (tests/web/browser.test.mjs) under pytest so
scripts/test.sh picks it up. Needs `npm ci` (playwright-core) and /usr/bin/chromium.
Screenshots: tests/artifacts/0*.png."""
import os
import shutil
import subprocess

import pytest

from vigil_web import ROOT, VIGIL

PW = os.path.join(ROOT, "node_modules", "playwright-core")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.mark.skipif(not os.path.isdir(PW) or not os.path.exists(CHROMIUM) or not shutil.which("node"),
                    reason="needs npm ci (playwright-core), node and chromium")
def test_browser_setup_login_cameras_members_audit():
    env = dict(os.environ, VIGIL_BIN=VIGIL, CHROMIUM=CHROMIUM)
    r = subprocess.run(["node", os.path.join(ROOT, "tests", "web", "browser.test.mjs")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
