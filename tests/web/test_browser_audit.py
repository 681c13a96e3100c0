# SPDX-License-Identifier: Apache-2.0
"""Runs tests/web/browser_audit.test.mjs (the browser as a witness of the
audit log: truncation and edits in app.db between visits raise a warning)
under pytest so scripts/test.sh picks it up."""
import os
import shutil
import subprocess

import pytest

from vigil_web import ROOT, VIGIL

PW = os.path.join(ROOT, "node_modules", "playwright-core")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.mark.skipif(not os.path.isdir(PW) or not os.path.exists(CHROMIUM) or not shutil.which("node"),
                    reason="needs npm ci (playwright-core), node and chromium")
def test_browser_warns_when_the_audit_log_goes_back():
    env = dict(os.environ, VIGIL_BIN=VIGIL, CHROMIUM=CHROMIUM)
    r = subprocess.run(["node", os.path.join(ROOT, "tests", "web", "browser_audit.test.mjs")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
