# SPDX-License-Identifier: Apache-2.0
"""Segment signatures: the C recorder writes and signs a segment
(tests/unit/test_segvec.c, which also checks the C side), and the browser's
verifier (ui/segsig.js, tests/web/segsig.test.mjs) checks the same bytes and
flags every tampering of them. Also GET /api/recorder: the key and fingerprint
the browser pins."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from test_live import RunServer, keyed_org, unb64
from vigil_web import HAVE_BROWSER, NEEDS_BROWSER, ROOT, fingerprint, run_browser_test

NODE = shutil.which("node")
VEC_BIN = os.path.join(ROOT, "build", "asan", "tests", "test_segvec")


@pytest.mark.skipif(not NODE, reason="needs node")
def test_browser_verifies_c_segment_vector(tmp_path):
    if not os.path.exists(VEC_BIN):
        subprocess.run(["make", "-s", "build/asan/tests/test_segvec"], cwd=ROOT, check=True, timeout=600)
    out = str(tmp_path / "segvec.json")
    r = subprocess.run([VEC_BIN], cwd=os.path.join(ROOT, "tests", "unit"), env=dict(os.environ, VG_SEGVEC_OUT=out),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and os.path.exists(out), r.stdout + r.stderr
    r = subprocess.run([NODE, "--test", os.path.join(ROOT, "tests", "web", "segsig.test.mjs")], cwd=ROOT,
                       env=dict(os.environ, VG_SEGVEC=out), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "# fail 0" in r.stdout and "# pass 13" in r.stdout, r.stdout[-2000:]


def test_recorder_key_route():
    srv = RunServer()
    try:
        c, owner, me, cam, cam_sk = keyed_org(srv)
        assert srv.client().call("GET", "/api/recorder")[0] == 401
        st, js = c.call("GET", "/api/recorder")
        assert st == 200, js
        pk = unb64(js["recorder_pk"])
        assert len(pk) == 32 and js["fingerprint"] == fingerprint(pk)
        # The key the store pinned is the one in the key file's public half.
        line = open(os.path.join(srv.dir, "data", "recorder.key")).read().split()
        assert unb64(line[2].replace("+", "-").replace("/", "_").rstrip("=")) == pk
        assert hashlib.blake2b(pk, digest_size=16).hexdigest() == js["fingerprint"].replace(" ", "")
    finally:
        srv.stop()
        srv.cleanup()


@pytest.mark.skipif(not HAVE_BROWSER, reason=NEEDS_BROWSER)
def test_browser_flags_tampered_segments(tmp_path):
    """tests/web/browser_segsig.test.mjs: verified playback and export; on-disk tampering
    (flipped byte, swapped envelopes, one removed, forged signature) flagged and export refused; a
    changed recorder key warned about and not trusted until the member says so. Every
    segment body the real browser received is then put through the wire checks."""
    cap = str(tmp_path / "media.bin")
    r = run_browser_test("browser_segsig.test.mjs", timeout=400, MEDIA_CAPTURE=cap)
    assert r.stdout.count("ok  ") >= 17, r.stdout
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import nomedia
    data = open(cap, "rb").read()
    reads = json.load(open(cap + ".json"))
    starts, off = [], 0
    for m in reads:
        body = data[off:off + m["length"]]
        first = 216 if m["range"].startswith("bytes=0-") else 0   # the segment header comes first
        envs, _ = nomedia.envelope_starts(body, first)
        starts += [off] + [off + e for e in envs]
        off += m["length"]
    wins = nomedia.keyframe_windows(clip=os.path.join(ROOT, "assets", "demo.mp4"))
    problems = nomedia.check_not_media(data, "browser segment reads", wins, str(tmp_path), starts,
                                       entropy_min_bytes=256 * 1024)
    print("browser segment reads: %d bytes in %d responses, entropy %.5f" % (len(data), len(reads), nomedia.entropy(data)))
    assert not problems, "\n".join(problems)
