# SPDX-License-Identifier: Apache-2.0
"""Playback API (docs/design/live.md "Playback") against `vigil run --demo`:
recordings, segment metadata, ciphertext by id with Range, decrypted here
with the camera key the way the browser does."""
import http.client
import struct
import time

import pytest
from nacl.public import SealedBox

from test_live import ENV_HDR, F_INIT, entropy, keyed_org, open_envelope, srv, unb64  # noqa: F401
from vigil_web import Member


@pytest.fixture(scope="module")
def rec(srv):
    c, owner, me, cam, cam_sk = keyed_org(srv)
    # Wait for a closed segment sealed to the camera key (4 s segments).
    deadline = time.time() + 30
    while time.time() < deadline:
        st, js = c.call("GET", "/api/cameras/%d/recordings" % cam)
        assert st == 200, js
        for s in js["segments"]:
            if s["status"] == "closed":
                st, meta = c.call("GET", "/api/segments/%d" % s["id"])
                if unb64(meta["footage_pk"]) == bytes(cam_sk.public_key):
                    return c, me, cam, cam_sk, js, meta
        time.sleep(0.5)
    raise AssertionError("no closed segment sealed to the camera key")


def get_range(srv, c, path, rng):
    h = {"Cookie": "__Host-vg_session=" + c.cookie}
    if rng is not None:
        h["Range"] = rng
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=c.ctx, timeout=10)
    conn.request("GET", path, headers=h)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def test_recordings_listed(rec):
    c, me, cam, cam_sk, js, meta = rec
    assert js["runs"] and all(r["end90k"] > r["start90k"] for r in js["runs"])
    assert meta["camera_id"] == cam and meta["fragments"][0]["seq"] == 0


def test_segment_fetch_and_decrypt(srv, rec):
    c, me, cam, cam_sk, js, meta = rec
    org = bytes.fromhex(me["footage_org_id"])
    ckey = SealedBox(cam_sk).decrypt(unb64(meta["sealed_key"]))
    frags = meta["fragments"]
    lo, hi = frags[0]["offset"], frags[-1]["offset"] + frags[-1]["length"] - 1
    st, h, body = get_range(srv, c, "/api/segments/%d/data" % meta["id"], "bytes=%d-%d" % (lo, hi))
    assert st == 206 and h["content-range"].startswith("bytes %d-%d/" % (lo, hi))
    assert entropy(body[frags[1]["offset"] - lo:]) > 7.9
    for i, f in enumerate(frags):
        env = body[f["offset"] - lo:f["offset"] - lo + f["length"]]
        assert env[ENV_HDR + 4:ENV_HDR + 8] not in (b"ftyp", b"moof")
        flags, plain = open_envelope(org, ckey, env)
        assert plain[4:8] == (b"ftyp" if i == 0 else b"moof")
        assert bool(flags & F_INIT) == (i == 0)
    # Whole file without Range.
    st, h, whole = get_range(srv, c, "/api/segments/%d/data" % meta["id"], None)
    assert st == 200 and whole[lo:hi + 1] == body and whole[:8] == b"VIGILSEG"


def test_range_abuse(srv, rec):
    c, me, cam, cam_sk, js, meta = rec
    path = "/api/segments/%d/data" % meta["id"]
    for rng, want in [("bytes=99999999999999999999-", 400), ("bytes=-", 400), ("bytes=5-1", 400),
                      ("bytes=-5-6", 400), ("items=0-1", 400), ("bytes=0-1,4-5", 416),
                      ("bytes=1000000000000-", 416), ("bytes=18446744073709551615-", 400), ("bytes=9223372036854775807-", 416),
                      ("bytes= 0-1", 400), ("bytes=-0", 416)]:
        st, h, _ = get_range(srv, c, path, rng)
        assert st == want, (rng, st)
    st, h, body = get_range(srv, c, path, "bytes=-10")
    assert st == 206 and len(body) == 10


def test_playback_security(srv, rec):
    c, me, cam, cam_sk, js, meta = rec
    anon = srv.client()
    for p in ["/api/segments/%d" % meta["id"], "/api/segments/%d/data" % meta["id"],
              "/api/cameras/%d/recordings" % cam]:
        assert anon.call("GET", p)[0] == 401
    for p in ["/api/segments/..%2f..%2findex.db", "/api/segments/1/../../index.db", "/api/segments/01",
              "/api/segments/-1/data", "/api/segments/1%00/data", "/api/segments/999999",
              "/api/segments/999999/data"]:
        assert c.call("GET", p)[0] == 404, p
    assert c.call("GET", "/api/cameras/%d/recordings?from=x" % cam)[0] == 400
    # A viewer with no key: 403 and audited.
    st, inv = c.call("POST", "/api/members", {"email": "pv@example.com", "role": "viewer"})
    v = Member("pv@example.com", with_totp=False)
    pub = srv.client()
    assert pub.call("POST", "/api/setup/invite", dict(v.keys(), token=inv["token"]))[0] == 201
    assert pub.call("GET", "/api/segments/%d" % meta["id"])[0] == 403
    assert pub.call("GET", "/api/segments/%d/data" % meta["id"])[0] == 403
    assert pub.call("GET", "/api/cameras/%d/recordings" % cam)[0] == 403
    st, audit = c.call("GET", "/api/audit")
    acts = [(e["actor"], e["action"]) for e in audit["entries"]]
    assert ("pv@example.com", "camera.denied") in acts
    assert ("owner@example.com", "archive.view") in acts


def test_export_audited(srv, rec):
    """The browser announces each export (it decrypts and saves it itself):
    audited for a caller with the camera's key, 403 + camera.denied otherwise."""
    c, me, cam, cam_sk, js, meta = rec
    seg = js["segments"][0]
    body = {"camera_id": cam, "from90k": seg["start90k"], "to90k": seg["end90k"]}
    st, out = c.call("POST", "/api/audit/export", body)
    assert st == 200, out
    st, inv = c.call("POST", "/api/members", {"email": "ex@example.com", "role": "viewer"})
    v = Member("ex@example.com", with_totp=False)
    pub = srv.client()
    assert pub.call("POST", "/api/setup/invite", dict(v.keys(), token=inv["token"]))[0] == 201
    st, out = pub.call("POST", "/api/audit/export", body)
    assert st == 403 and out["error"] == "no_key"
    st, audit = c.call("GET", "/api/audit")
    acts = [(e["actor"], e["action"], e["detail"]) for e in audit["entries"]]
    assert ("owner@example.com", "export", {"camera": cam, "from90k": seg["start90k"], "to90k": seg["end90k"]}) in acts
    assert ("ex@example.com", "camera.denied", {"camera": cam, "what": "export"}) in acts
    assert not any(a == ("ex@example.com", "export") for a in [(x[0], x[1]) for x in acts])
