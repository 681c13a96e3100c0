# SPDX-License-Identifier: Apache-2.0
"""An export is a plain MP4 that a browser plays: Debian's Chromium presents its frames."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import REPO


def chromium_play(path, seconds=3):
    node = shutil.which("node")
    if not node or not os.path.isdir(os.path.join(REPO, "node_modules", "playwright-core")):
        pytest.fail("node and playwright-core are needed (scripts/install-deps.sh runs npm ci)")
    r = subprocess.run([node, os.path.join(REPO, "tests", "integration", "play_mp4.mjs"), path,
                        str(seconds)], capture_output=True, text=True, timeout=90, cwd=REPO)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(90)
def test_export_plays_in_chromium(vigil, camera):
    cam = camera("h264")
    key = vigil.keys()
    vigil.start("--camera-key", key + ".pub", "--camera", "c1=" + cam.url())
    vigil.wait_cam("c1", lambda c: c["fragments"] >= 5, timeout=25, what="5 fragments")
    vigil.stop()
    out, summary, _ = vigil.export(key, "c1")
    res = chromium_play(out, seconds=3)
    assert not res.get("error") and not res.get("mediaError"), res
    assert (res["width"], res["height"]) == (640, 360), res
    # About 3 s at 20 fps were presented (generous: the runner may be loaded).
    assert res["frames"] >= 20, res
    assert res["currentTime"] >= 1.0, res
