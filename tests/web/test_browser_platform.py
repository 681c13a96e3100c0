# SPDX-License-Identifier: Apache-2.0
"""Runs the operator console browser test (tests/web/browser_platform.test.mjs) under pytest so
scripts/test.sh picks it up. Needs `npm ci` (playwright-core) and /usr/bin/chromium.
Screenshots: tests/artifacts/platform-*.png."""
import os
import shutil
import subprocess

import pytest

from vigil_web import ROOT, VIGIL

PW = os.path.join(ROOT, "node_modules", "playwright-core")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.mark.skipif(not os.path.isdir(PW) or not os.path.exists(CHROMIUM) or not shutil.which("node"),
                    reason="needs npm ci (playwright-core), node and chromium")
def test_browser_operator_console():
    env = dict(os.environ, VIGIL_BIN=VIGIL, CHROMIUM=CHROMIUM)
    r = subprocess.run(["node", os.path.join(ROOT, "tests", "web", "browser_platform.test.mjs")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
