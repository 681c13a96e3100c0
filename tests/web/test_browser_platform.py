# SPDX-License-Identifier: Apache-2.0
"""Runs the operator console browser test (tests/web/browser_platform.test.mjs) under pytest so
scripts/test.sh picks it up. Needs `npm ci` (playwright-core) and /usr/bin/chromium.
Screenshots: tests/artifacts/platform-*.png."""
import pytest

from vigil_web import HAVE_BROWSER, NEEDS_BROWSER, run_browser_test


@pytest.mark.skipif(not HAVE_BROWSER, reason=NEEDS_BROWSER)
def test_browser_operator_console():
    run_browser_test("browser_platform.test.mjs")
