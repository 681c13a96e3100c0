# SPDX-License-Identifier: Apache-2.0
"""Runs the Playwright browser test (tests/web/browser.test.mjs) under pytest so
scripts/test.sh picks it up. Needs `npm ci` (playwright-core) and /usr/bin/chromium.
Screenshots: tests/artifacts/0*.png."""
import pytest

from vigil_web import HAVE_BROWSER, NEEDS_BROWSER, run_browser_test


@pytest.mark.skipif(not HAVE_BROWSER, reason=NEEDS_BROWSER)
def test_browser_setup_login_cameras_members_audit():
    run_browser_test("browser.test.mjs")
