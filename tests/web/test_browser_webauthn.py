# SPDX-License-Identifier: Apache-2.0
"""Runs the security-key browser test (tests/web/browser_webauthn.test.mjs:
Chromium's virtual authenticator, a test CA trusted through an NSS database)
under pytest so scripts/test.sh picks it up. Needs playwright-core, node,
chromium, openssl and certutil (libnss3-tools)."""
import os
import shutil
import subprocess

import pytest

from vigil_web import ROOT, VIGIL

PW = os.path.join(ROOT, "node_modules", "playwright-core")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.mark.skipif(not os.path.isdir(PW) or not os.path.exists(CHROMIUM) or not shutil.which("node")
                    or not shutil.which("certutil") or not shutil.which("openssl"),
                    reason="needs npm ci (playwright-core), node, chromium, openssl and certutil")
def test_browser_security_keys():
    env = dict(os.environ, VIGIL_BIN=VIGIL, CHROMIUM=CHROMIUM)
    r = subprocess.run(["node", os.path.join(ROOT, "tests", "web", "browser_webauthn.test.mjs")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    assert "ok   a counter regression is refused" in r.stdout
