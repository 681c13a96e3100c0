# SPDX-License-Identifier: Apache-2.0
"""Runs the security-key browser test (tests/web/browser_webauthn.test.mjs:
Chromium's virtual authenticator, a test CA trusted through an NSS database)
under pytest so scripts/test.sh picks it up. Needs playwright-core, node,
chromium, openssl and certutil (libnss3-tools)."""
import shutil

import pytest

from vigil_web import HAVE_BROWSER, run_browser_test


@pytest.mark.skipif(not HAVE_BROWSER or not shutil.which("certutil") or not shutil.which("openssl"),
                    reason="needs npm ci (playwright-core), node, chromium, openssl and certutil")
def test_browser_security_keys():
    r = run_browser_test("browser_webauthn.test.mjs")
    assert "ok   a counter regression is refused" in r.stdout
