# SPDX-License-Identifier: Apache-2.0
"""Camera key rotation in the browser, end to end against a real `vigil run
--demo` (tests/web/browser_rotation.test.mjs, Playwright + Chromium): the
admin's browser rotates the key (during live view, with "Rotate now", and by
itself at sign-in when the period is due); live and playback decrypt footage
of every period. Screenshots: tests/artifacts/2*.png."""
import pytest

from vigil_web import HAVE_BROWSER, NEEDS_BROWSER, run_browser_test


@pytest.mark.skipif(not HAVE_BROWSER, reason=NEEDS_BROWSER)
def test_browser_rotation():
    r = run_browser_test("browser_rotation.test.mjs", timeout=400)
    assert r.stdout.count("ok  ") >= 15, r.stdout
