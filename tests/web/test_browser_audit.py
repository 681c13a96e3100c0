# SPDX-License-Identifier: Apache-2.0
"""Runs tests/web/browser_audit.test.mjs (the browser as a witness of the
audit log: truncation and edits in app.db between visits raise a warning)
under pytest so scripts/test.sh picks it up."""
import pytest

from vigil_web import HAVE_BROWSER, NEEDS_BROWSER, run_browser_test


@pytest.mark.skipif(not HAVE_BROWSER, reason=NEEDS_BROWSER)
def test_browser_warns_when_the_audit_log_goes_back():
    run_browser_test("browser_audit.test.mjs")
