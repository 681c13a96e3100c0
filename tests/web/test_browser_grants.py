# SPDX-License-Identifier: Apache-2.0
"""Grants and share links in the browser, end to end (browser_grants.test.mjs,
Playwright + Chromium) against `vigil run --demo`: the owner's browser makes
its signing key, shares a clip and grants a support account; a stranger opens
the link with the passphrase and downloads the clip; the support account plays
and downloads granted footage; both MP4 files are checked here with ffprobe,
and the openings and views are in the organization's audit log."""
import json
import os
import shutil
import subprocess
import time

import pytest
from nacl.public import PrivateKey, SealedBox
from nacl.pwhash import argon2id

from grants_util import kdf, make_support, wrap
from test_live import RunServer
from vigil_web import ROOT, VIGIL, Member, b64, fingerprint, setup_org

PW = os.path.join(ROOT, "node_modules", "playwright-core")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node")
ART = os.path.join(ROOT, "tests", "artifacts")
PASSWORD = "correct staple horse battery lantern"


class PasswordMember(Member):
    """Keys derived from a password exactly as ui/keys.js does, so a browser can sign in."""

    def __init__(self, email):
        super().__init__(email)
        master = argon2id.kdf(32, PASSWORD.encode(), self.salt, opslimit=3, memlimit=64 << 20)
        self.kek, self.auth_key = kdf(master, 1, b"vigilmbr"), kdf(master, 2, b"vigilmbr")
        self.box_sk = PrivateKey.generate()
        self.pk = bytes(self.box_sk.public_key)
        self.wrapped_sk = wrap(self.kek, bytes(self.box_sk))


def ffprobe(path):
    p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                        "stream=codec_name,width,height,nb_read_frames", "-of", "json", path],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [s for s in json.loads(p.stdout)["streams"] if s.get("codec_name") == "h264"]


@pytest.mark.skipif(not os.path.isdir(PW) or not os.path.exists(CHROMIUM) or not NODE or not shutil.which("ffprobe"),
                    reason="needs playwright-core, node, chromium and ffprobe")
def test_browser_grants_and_share():
    srv = RunServer()
    try:
        owner = PasswordMember("owner@example.com")
        c, owner = setup_org(srv, owner)
        st, me = c.call("GET", "/api/me")
        st, cams = c.call("GET", "/api/cameras")
        demo = [x for x in cams["cameras"] if x["builtin"]][0]
        cam_sk = PrivateKey.generate()
        st, js = c.call("PUT", "/api/cameras/%d/key" % demo["id"],
                        {"footage_pk": b64(bytes(cam_sk.public_key)),
                         "recovery_sealed_sk": b64(SealedBox(PrivateKey.generate().public_key).encrypt(bytes(cam_sk))),
                         "wrapped": [{"member_id": me["id"], "sealed_sk": b64(SealedBox(owner.box_sk.public_key).encrypt(bytes(cam_sk)))}]})
        assert st == 200, js
        sup = make_support(srv, "support@vendor.example", PasswordMember("support@vendor.example"))
        # Some recorded footage sealed to the camera key (4 s segments).
        deadline = time.time() + 40
        while time.time() < deadline:
            st, rec = c.call("GET", "/api/cameras/%d/recordings" % demo["id"])
            if sum(1 for s in rec["segments"] if s["status"] == "closed") >= 3:
                break
            time.sleep(0.5)
        os.makedirs(ART, exist_ok=True)
        share_path, grant_path = os.path.join(ART, "share-clip.mp4"), os.path.join(ART, "grant-clip.mp4")
        for p in (share_path, grant_path):
            if os.path.exists(p):
                os.unlink(p)
        env = dict(os.environ, VIGIL_BIN=VIGIL, CHROMIUM=CHROMIUM, ORIGIN=srv.origin, PASSWORD=PASSWORD,
                   OWNER_EMAIL=owner.email, OWNER_TOTP=owner.totp_secret.hex(), OWNER_STEP=str(owner.last_step or 0),
                   SUPPORT_STEP=str(sup.last_step or 0),
                   SUPPORT_EMAIL=sup.email, SUPPORT_TOTP=sup.totp_secret.hex(), SUPPORT_FP=fingerprint(sup.pk),
                   SHARE_PASS="river-otter-lamp-quartz", SHARE_PATH=share_path, GRANT_PATH=grant_path)
        r = subprocess.run([NODE, os.path.join(ROOT, "tests", "web", "browser_grants.test.mjs")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
        print(r.stdout)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-6000:]
        for p in (share_path, grant_path):
            video = ffprobe(p)
            assert video and (video[0]["width"], video[0]["height"]) == (640, 360), p
            assert int(video[0]["nb_read_frames"]) > 10, video
        st, js = c.call("GET", "/api/audit")   # the setup session is still open
        acts = [e["action"] for e in js["entries"]]
        for a in ("signkey.set", "share.create", "share.open", "share.denied", "grant.issue", "grant.use",
                  "grant.revoke", "grant.denied"):
            assert a in acts, (a, acts)
    finally:
        assert srv.stop() == 0, srv.stderr()
        srv.cleanup()
