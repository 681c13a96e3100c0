# SPDX-License-Identifier: Apache-2.0
"""Retention by size, per camera and for the whole store: the oldest segments go, the
newest stay, what remains still exports and decodes, and fsck is clean."""
import pytest

from test_record import assert_plays


def _span(st):
    return (st["last90k"] - st["first90k"]) / 90000.0


@pytest.mark.timeout(90)
def test_retention_per_camera_by_size(vigil, camera):
    cam = camera("h264")
    key = vigil.keys()
    # ~250 KB/s camera, 1-s segments, at most 600 KB kept for this camera.
    vigil.start("--camera-key", key + ".pub", "--camera", "c1=" + cam.url(),
                "--segment-seconds", "1", "--camera-retain-bytes", "600K")
    first = vigil.wait_cam("c1", lambda c: c["first90k"] is not None, timeout=20,
                           what="first fragment")["first90k"]
    vigil.wait_cam("c1", lambda c: c["first90k"] > first, timeout=40,
                        what="oldest segment deleted")
    vigil.stop()
    st = vigil.cam_status("c1")
    # The limit holds to within one segment (the newest is never deleted while written).
    assert st["bytes"] <= 600 * 1024 + 400 * 1024, st
    assert _span(st) < 8, st  # only the newest few seconds remain
    out, summary, _ = vigil.export(key, "c1")
    assert_plays(out, "h264")
    r = vigil.fsck()
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.timeout(90)
def test_retention_store_wide_by_size(vigil, camera):
    cam = camera("h264")
    key = vigil.keys()
    vigil.start("--camera-key", key + ".pub", "--camera", "a=" + cam.url(),
                "--camera", "b=" + cam.url(), "--segment-seconds", "1", "--retain-bytes", "1M")
    firsts = {}
    for n in ("a", "b"):
        firsts[n] = vigil.wait_cam(n, lambda c: c["first90k"] is not None, timeout=20,
                                   what="first fragment")["first90k"]
    vigil.wait_cam("a", lambda c: c["first90k"] > firsts["a"], timeout=40, what="a trimmed")
    vigil.stop()
    total = sum(c["bytes"] for c in vigil.status()["cameras"])
    assert total <= 1024 * 1024 + 2 * 400 * 1024, vigil.status()
    for n in ("a", "b"):
        out, _, _ = vigil.export(key, n, out_name=n + ".mp4")
        assert_plays(out, "h264")
