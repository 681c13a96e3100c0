# SPDX-License-Identifier: Apache-2.0
"""Key rotation of a real RTSP camera (docs/design/keys.md "Rotation and
crypto-shredding"): `vigil run` with the web, a gst-rtsp-server camera added and
keyed over the API (the test plays the admin's browser), then rotated. The
recorder switches to the new key at its next segment without reconnecting: the
camera sees one RTSP session, the index one continuous run, and segments of
both periods decrypt with their own key only."""
import os
import re
import struct
import sys
import time

import pytest
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

from conftest import REPO, free_port

sys.path.insert(0, os.path.join(REPO, "tests", "web"))
from vigil_web import Client, Member, b64, setup_org  # noqa: E402


def unb64(s):
    import base64
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Web:
    """What vigil_web.Client needs of a server."""

    def __init__(self, port, token):
        self.port, self.origin, self.setup_token = port, "https://127.0.0.1:%d" % port, token

    def client(self):
        return Client(self)


@pytest.mark.timeout(120)
def test_rotation_switches_without_reconnect(vigil, camera):
    cam = camera("h264")
    port = free_port()
    vigil.start("--listen", "127.0.0.1:%d" % port, "--ui", os.path.join(REPO, "ui"), "--segment-seconds", "2")
    deadline = time.time() + 30
    token = None
    while time.time() < deadline:
        text = vigil.log_text()
        m = re.search(r"#setup=([A-Za-z0-9_-]{43})", text)
        if m and "listening on" in text:
            token = m.group(1)
            break
        vigil.assert_alive()
        time.sleep(0.1)
    assert token, vigil.log_text()[-3000:]
    web = Web(port, token)
    owner = Member("owner@example.com")
    box = PrivateKey.generate()
    owner.pk = bytes(box.public_key)
    c, owner = setup_org(web, owner)
    st, me = c.call("GET", "/api/me")
    org = bytes.fromhex(me["footage_org_id"])
    st, js = c.call("POST", "/api/cameras", {"name": "gate", "url": cam.url()})
    assert st == 201, js
    cid = js["id"]
    rec = PrivateKey.generate()

    def put(k):
        return c.call("PUT", "/api/cameras/%d/key" % cid, {
            "footage_pk": b64(bytes(k.public_key)),
            "recovery_sealed_sk": b64(SealedBox(rec.public_key).encrypt(bytes(k))),
            "wrapped": [{"member_id": me["id"], "sealed_sk": b64(SealedBox(box.public_key).encrypt(bytes(k)))}]})

    def segment_for(k, timeout=30):
        pk = bytes(k.public_key)
        end = time.time() + timeout
        while time.time() < end:
            st, r = c.call("GET", "/api/cameras/%d/recordings" % cid)
            if st == 200:
                for s in reversed(r["segments"]):
                    st, meta = c.call("GET", "/api/segments/%d" % s["id"])
                    if st == 200 and unb64(meta["footage_pk"]) == pk and len(meta["fragments"]) >= 2:
                        return meta
            time.sleep(0.3)
        raise AssertionError("no segment sealed to the key")

    def opens(meta, k):
        try:
            ckey = SealedBox(k).decrypt(unb64(meta["sealed_key"]))
        except CryptoError:
            return False
        f = meta["fragments"][1]
        st, _, _, env = c.raw("GET", "/api/segments/%d/data" % meta["id"],
                              headers={"Range": "bytes=%d-%d" % (f["offset"], f["offset"] + f["length"] - 1)})
        assert st == 206
        n = struct.unpack(">I", env[72:76])[0]
        plain = crypto_aead_xchacha20poly1305_ietf_decrypt(env[76:76 + n], org + env[:76], env[48:72], ckey)
        return plain[4:8] == b"moof"

    k1, k2 = PrivateKey.generate(), PrivateKey.generate()
    assert put(k1)[0] == 200
    m1 = segment_for(k1)
    assert put(k2)[0] == 200
    m2 = segment_for(k2)
    assert opens(m1, k1) and opens(m2, k2)
    assert not opens(m2, k1) and not opens(m1, k2)
    time.sleep(2)
    st, r = c.call("GET", "/api/cameras/%d/recordings" % cid)
    assert st == 200 and len(r["runs"]) == 1, r["runs"]
    sessions = cam.framelog().sessions
    assert len(sessions) == 1, sessions     # the recorder never reconnected
    vigil.assert_alive()
    vigil.stop()
