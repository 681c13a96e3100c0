# SPDX-License-Identifier: Apache-2.0
"""Support grants (docs/design/grants.md) against `vigil run --demo`: an
owner grants a support account a camera and a time range; the server serves
only that, the recorder seals new segment keys to a live grantee until the
grant is revoked or expires, and every end deletes the grant's keys."""
import http.client
import time

import pytest
from nacl.public import SealedBox
from nacl.signing import SigningKey

from grants_util import (app_rows, index_grant_keys, issue, make_support, now90k, reseal, set_sign_key, statement)
from test_live import F_INIT, keyed_org, open_envelope, srv, unb64  # noqa: F401
from vigil_web import b64, login


def closed_segments(c, cam, cam_sk, n, after90k=0, timeout=40):
    """n closed segments of cam sealed to cam_sk, starting at or after after90k."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, js = c.call("GET", "/api/cameras/%d/recordings" % cam)
        assert st == 200, js
        out = []
        for s in js["segments"]:
            if s["status"] != "closed" or s["start90k"] < after90k:
                continue
            st, meta = c.call("GET", "/api/segments/%d" % s["id"])
            if unb64(meta["footage_pk"]) == bytes(cam_sk.public_key):
                meta["end90k"] = s["end90k"]
                out.append(meta)
        if len(out) >= n:
            return out
        time.sleep(0.5)
    raise AssertionError("not enough closed segments")


def get(srv, c, path):
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=c.ctx, timeout=10)
    conn.request("GET", path, headers={"Cookie": "__Host-vg_session=" + c.cookie})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def decrypt_segment(srv, sc, org, gid, meta, box_sk):
    """What the support account's browser does: open the key sealed to it, decrypt every fragment."""
    ckey = SealedBox(box_sk).decrypt(unb64(meta["sealed_key"]))
    st, data = get(srv, sc, "/api/support/grants/%d/data?segment=%d" % (gid, meta["id"]))
    assert st == 200
    for i, f in enumerate(meta["fragments"]):
        flags, plain = open_envelope(org, ckey, data[f["offset"]:f["offset"] + f["length"]])
        assert plain[4:8] == (b"ftyp" if i == 0 else b"moof") and bool(flags & F_INIT) == (i == 0)
    return True


@pytest.fixture(scope="module")
def world(srv):
    c, owner, me, cam, cam_sk = keyed_org(srv)
    osk, st, js = set_sign_key(c)
    assert st == 200, js
    sup = make_support(srv, "support@vendor.example")
    sc, st, js = login(srv, sup)
    assert st == 200 and js["role"] == "support", js
    segs = closed_segments(c, cam, cam_sk, 3)
    return dict(c=c, me=me, cam=cam, cam_sk=cam_sk, osk=osk, sup=sup, sc=sc, segs=segs,
                org=bytes.fromhex(me["footage_org_id"]), uid=me["org"]["uid"])


def audit_actions(c):
    st, js = c.call("GET", "/api/audit")
    assert st == 200
    return [(e["action"], e["detail"]) for e in js["entries"]]


def test_grantee_lookup_shows_key_and_fingerprint(world):
    c, sup = world["c"], world["sup"]
    st, js = c.call("GET", "/api/grantee?email=support@vendor.example")
    assert st == 200 and unb64(js["public_key"]) == sup.pk and len(js["fingerprint"]) == 39
    # Members of tenant organizations are not grantees.
    st, js = c.call("GET", "/api/grantee?email=owner@example.com")
    assert st == 404


def test_archive_grant_scope(srv, world):
    c, sc, sup, segs, cam = world["c"], world["sc"], world["sup"], world["segs"], world["cam"]
    a, b = segs[0], segs[-1]
    stmt = statement(world["uid"], sup.id, sup.pk, ["demo"], a["start90k"], a["end90k"], int(time.time()) + 3600)
    st, js = issue(c, world["osk"], stmt, [reseal(world["cam_sk"], a, sup.box_sk.public_key)])
    assert st == 201 and js["keys"] == 1, js
    gid = js["id"]
    # The support account lists it and decrypts the granted segment.
    st, mine = sc.call("GET", "/api/support/grants")
    assert st == 200 and gid in [g["id"] for g in mine["grants"]]
    st, rec = sc.call("GET", "/api/support/grants/%d/recordings?camera=%d" % (gid, cam))
    assert st == 200 and a["id"] in [s["id"] for s in rec["segments"]]
    st, meta = sc.call("GET", "/api/support/grants/%d/segment?segment=%d" % (gid, a["id"]))
    assert st == 200 and meta["sealed_to"] == "grantee", meta
    assert decrypt_segment(srv, sc, world["org"], gid, meta, sup.box_sk)
    # Time outside the range: refused, and audited in the organization's log.
    st, js = sc.call("GET", "/api/support/grants/%d/segment?segment=%d" % (gid, b["id"]))
    assert st == 403 and js["error"] == "outside_grant"
    st, _ = get(srv, sc, "/api/support/grants/%d/data?segment=%d" % (gid, b["id"]))
    assert st == 403
    # A camera outside the grant.
    st, other = c.call("POST", "/api/cameras", {"name": "door", "url": "rtsp://127.0.0.1:1/x"})
    assert st in (200, 201), other
    st, js = sc.call("GET", "/api/support/grants/%d/recordings?camera=%d" % (gid, other["id"]))
    assert st == 403
    # The tenant routes stay closed to a support account.
    for path in ("/api/segments/%d" % a["id"], "/api/cameras", "/api/cameras/%d/key" % cam):
        st, _ = sc.call("GET", path)
        assert st == 403, path
    acts = audit_actions(c)
    assert ("grant.issue" in [x for x, _ in acts]) and ("grant.use" in [x for x, _ in acts])
    denied = [d for x, d in acts if x == "grant.denied"]
    assert any(d.get("reason") == "time" for d in denied) and any(d.get("reason") == "camera" for d in denied)
    # Revocation: refused from now on, the wrapped keys are gone.
    assert app_rows(srv, "SELECT COUNT(*) FROM grant_keys WHERE grant_id = ?", (gid,))[0][0] == 1
    st, _ = c.call("DELETE", "/api/grants/%d" % gid)
    assert st == 200
    st, js = sc.call("GET", "/api/support/grants/%d/segment?segment=%d" % (gid, a["id"]))
    assert st == 403 and js["error"] == "grant_ended"
    assert app_rows(srv, "SELECT COUNT(*) FROM grant_keys WHERE grant_id = ?", (gid,))[0][0] == 0
    assert "grant.revoke" in [x for x, _ in audit_actions(c)]


def test_other_support_account_sees_nothing(srv, world):
    c, sup = world["c"], world["sup"]
    a = world["segs"][0]
    stmt = statement(world["uid"], sup.id, sup.pk, ["demo"], a["start90k"], a["end90k"], int(time.time()) + 3600)
    st, js = issue(c, world["osk"], stmt, [reseal(world["cam_sk"], a, sup.box_sk.public_key)])
    assert st == 201
    other = make_support(srv, "other@vendor.example")
    oc, st, _ = login(srv, other)
    assert st == 200
    st, mine = oc.call("GET", "/api/support/grants")
    assert st == 200 and mine["grants"] == []
    st, _ = oc.call("GET", "/api/support/grants/%d/segment?segment=%d" % (js["id"], a["id"]))
    assert st == 404


def test_refused_grants(srv, world):
    c, sup, a = world["c"], world["sup"], world["segs"][0]
    exp = int(time.time()) + 3600
    stmt = statement(world["uid"], sup.id, sup.pk, ["demo"], a["start90k"], a["end90k"], exp)
    # Signed by a key that is not the member's: refused.
    st, js = issue(c, SigningKey.generate(), stmt)
    assert st == 403 and js["error"] == "bad_signature"
    # Unsigned (a signature of zeros).
    st, js = c.call("POST", "/api/grants", {"statement": stmt, "signature": b64(bytes(64))})
    assert st == 403
    # A statement altered after signing (another grantee key).
    sig = world["osk"].sign(stmt.encode()).signature
    forged = stmt.replace(b64(sup.pk), b64(bytes(world["me"]["public_key"] and unb64(world["me"]["public_key"]))))
    st, js = c.call("POST", "/api/grants", {"statement": forged, "signature": b64(sig)})
    assert st == 400 and js["error"] == "bad_grantee"
    # More than seven days, already expired, a tenant member as grantee.
    for e in (int(time.time()) + 8 * 86400, int(time.time()) - 1):
        st, js = issue(c, world["osk"], statement(world["uid"], sup.id, sup.pk, ["demo"], a["start90k"], a["end90k"], e))
        assert st == 400 and js["error"] == "bad_expiry"
    mpk = unb64(world["me"]["public_key"])
    st, js = issue(c, world["osk"], statement(world["uid"], world["me"]["id"], mpk, ["demo"], 0, 10, exp))
    assert st == 400 and js["error"] == "bad_grantee"
    # Keys for a segment outside the range.
    b = world["segs"][-1]
    st, js = issue(c, world["osk"], stmt, [reseal(world["cam_sk"], b, sup.box_sk.public_key)])
    assert st == 400 and js["error"] == "bad_keys"


def test_admin_needs_owner_certificate(srv, world):
    from test_live import KeyedMember
    c, sup, a = world["c"], world["sup"], world["segs"][0]
    adm = KeyedMember("admin@example.com")
    st, inv = c.call("POST", "/api/members", {"email": adm.email, "role": "admin"})
    assert st in (200, 201), inv
    from vigil_web import Client
    ac = Client(srv)
    st, js = ac.call("POST", "/api/setup/invite", dict(adm.keys(), token=inv["token"]))
    assert st in (200, 201), js
    ask, st, _ = set_sign_key(ac)
    assert st == 200
    stmt = statement(world["uid"], sup.id, sup.pk, ["demo"], a["start90k"], a["end90k"], int(time.time()) + 3600)
    st, js = issue(ac, ask, stmt)
    assert st == 403 and js["error"] in ("bad_signature", "no_key"), js
    # The owner certifies the admin's key (a wrong certificate is refused first).
    aid = ac.call("GET", "/api/me")[1]["id"]
    cert = ("vigil-signkey-v1\norg %s\nmember %d\nsign_pk %s\n" % (world["uid"], aid,
                                                                   b64(bytes(ask.verify_key)))).encode()
    st, _ = c.call("POST", "/api/members/%d/signcert" % aid, {"cert": b64(SigningKey.generate().sign(cert).signature)})
    assert st == 400
    st, _ = c.call("POST", "/api/members/%d/signcert" % aid, {"cert": b64(world["osk"].sign(cert).signature)})
    assert st == 200
    # Wrapping the camera key to the admin lets it grant that camera.
    sealed = SealedBox(adm.box_sk.public_key).encrypt(bytes(world["cam_sk"]))
    st, _ = c.call("POST", "/api/cameras/%d/key/wrap" % world["cam"], {"member_id": aid, "sealed_sk": b64(sealed)})
    assert st == 200
    st, js = issue(ac, ask, stmt)
    assert st == 201 and js["live"] is False, js   # a range in the past: nothing new to seal


def live_key_for(srv, sc, gid, seg_id):
    return sc.call("GET", "/api/support/grants/%d/segment?segment=%d" % (gid, seg_id))


def test_live_grant_sealed_by_recorder_until_revoked(srv, world):
    c, sc, sup, cam, cam_sk = world["c"], world["sc"], world["sup"], world["cam"], world["cam_sk"]
    t0 = now90k()
    stmt = statement(world["uid"], sup.id, sup.pk, ["demo"], t0, t0 + 3600 * 90000, int(time.time()) + 3600)
    st, js = issue(c, world["osk"], stmt)
    assert st == 201 and js["live"] is True, js
    gid = js["id"]
    # A segment begun after the grant: the recorder sealed its key to the grantee.
    seg = closed_segments(c, cam, cam_sk, 1, after90k=t0)[0]
    assert [r[0] for r in index_grant_keys(srv, gid)], "no key sealed by the recorder"
    st, meta = live_key_for(srv, sc, gid, seg["id"])
    assert st == 200, meta
    assert decrypt_segment(srv, sc, world["org"], gid, meta, sup.box_sk)
    # Revoked: refused, the recorder's keys deleted, and new segments are not sealed to it.
    st, _ = c.call("DELETE", "/api/grants/%d" % gid)
    assert st == 200
    t1 = now90k()
    deadline = time.time() + 10
    while index_grant_keys(srv, gid) and time.time() < deadline:
        time.sleep(0.3)
    assert index_grant_keys(srv, gid) == []
    st, _ = live_key_for(srv, sc, gid, seg["id"])
    assert st == 403
    closed_segments(c, cam, cam_sk, 1, after90k=t1)
    assert index_grant_keys(srv, gid) == []


def test_live_grant_expires_on_recorder_clock(srv, world):
    c, sc, sup, cam, cam_sk = world["c"], world["sc"], world["sup"], world["cam"], world["cam_sk"]
    t0 = now90k()
    exp = int(time.time()) + 14   # long enough for one segment (4 s) to begin and close
    stmt = statement(world["uid"], sup.id, sup.pk, ["demo"], t0, t0 + 3600 * 90000, exp)
    st, js = issue(c, world["osk"], stmt)
    assert st == 201 and js["live"] is True, js
    gid = js["id"]
    seg = closed_segments(c, cam, cam_sk, 1, after90k=t0)[0]
    st, meta = live_key_for(srv, sc, gid, seg["id"])
    assert st == 200 and decrypt_segment(srv, sc, world["org"], gid, meta, sup.box_sk)
    while time.time() < exp + 1:
        time.sleep(0.5)
    # After expiry: refused, keys deleted (server and recorder), audited as expired.
    st, js = live_key_for(srv, sc, gid, seg["id"])
    assert st == 403 and js["error"] == "grant_ended"
    assert app_rows(srv, "SELECT state FROM grants WHERE id = ?", (gid,))[0][0] == "expired"
    deadline = time.time() + 10
    while index_grant_keys(srv, gid) and time.time() < deadline:
        time.sleep(0.3)
    assert index_grant_keys(srv, gid) == []
    t1 = now90k()
    closed_segments(c, cam, cam_sk, 1, after90k=t1)
    assert index_grant_keys(srv, gid) == []
    assert any(x == "grant.expired" and d.get("grant") == gid for x, d in audit_actions(c))


# ---- share links --------------------------------------------------------------------

def share_create(c, world, passphrase, segs, expires_in=3600):
    import os
    from grants_util import share_keys, wrap
    salt = os.urandom(16)
    wk, ak = share_keys(passphrase, salt)
    keys = []
    for m in segs:
        ckey = SealedBox(world["cam_sk"]).decrypt(unb64(m["sealed_key"]))
        keys.append({"segment_id": m["id"], "wrapped_key": b64(wrap(wk, ckey))})
    body = {"camera_id": world["cam"], "from90k": segs[0]["start90k"], "to90k": segs[-1]["end90k"],
            "expires": int(time.time()) + expires_in, "salt": b64(salt), "auth_key": b64(ak), "keys": keys}
    return c.call("POST", "/api/shares", body)


def share_data(srv, token, ak, seg_id):
    import ssl
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ssl._create_unverified_context(), timeout=10)
    conn.request("GET", "/api/share/data?segment=%d" % seg_id,
                 headers={"X-Vigil-Share": token, "X-Vigil-Share-Key": b64(ak)})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def test_share_link_right_passphrase_decrypts(srv, world):
    from grants_util import share_keys, unwrap
    from vigil_web import Client
    c, segs = world["c"], world["segs"][:2]
    st, js = share_create(c, world, "correct horse battery", segs)
    assert st == 201 and js["keys"] == 2 and len(js["token"]) == 43, js
    token = js["token"]
    anon = Client(srv)   # the recipient: no session
    st, p = anon.call("POST", "/api/share/params", {"token": token})
    assert st == 200
    wk, ak = share_keys("correct horse battery", unb64(p["salt"]))
    st, clip = anon.call("POST", "/api/share/open", {"token": token, "auth_key": b64(ak)})
    assert st == 200 and [s["id"] for s in clip["segments"]] == [m["id"] for m in segs], clip
    org = bytes.fromhex(clip["footage_org_id"])
    for m in clip["segments"]:
        assert "sealed_key" not in m
        ckey = unwrap(wk, unb64(m["wrapped_key"]))
        st, data = share_data(srv, token, ak, m["id"])
        assert st == 200
        for f in m["fragments"]:
            open_envelope(org, ckey, data[f["offset"]:f["offset"] + f["length"]])
    # A segment outside the clip is not served.
    st, _ = share_data(srv, token, ak, world["segs"][-1]["id"])
    assert st == 403
    # The opening is in the organization's log.
    assert any(x == "share.open" and d.get("share") == js["id"] for x, d in audit_actions(c))
    # The token never needs to be in a URL the server sees; a wrong token is unknown.
    st, _ = anon.call("POST", "/api/share/params", {"token": "A" * 43})
    assert st == 404
    # Revoked: refused, keys deleted.
    st, _ = c.call("DELETE", "/api/shares/%d" % js["id"])
    assert st == 200
    st, _ = anon.call("POST", "/api/share/open", {"token": token, "auth_key": b64(ak)})
    assert st == 403
    assert app_rows(srv, "SELECT COUNT(*) FROM share_keys WHERE share_id = ?", (js["id"],))[0][0] == 0


def test_share_link_wrong_passphrase_throttled(srv, world):
    from grants_util import share_keys
    from vigil_web import Client
    c = world["c"]
    st, js = share_create(c, world, "the right one here", world["segs"][:1])
    assert st == 201
    anon = Client(srv)
    st, p = anon.call("POST", "/api/share/params", {"token": js["token"]})
    _, bad = share_keys("a wrong guess", unb64(p["salt"]))
    _, good = share_keys("the right one here", unb64(p["salt"]))
    for i in range(10):
        st, r = anon.call("POST", "/api/share/open", {"token": js["token"], "auth_key": b64(bad)})
        assert st == 403 and r["error"] == "wrong_passphrase", (i, st, r)
    st, _, h, _ = anon.raw("POST", "/api/share/open", {"token": js["token"], "auth_key": b64(bad)})
    assert st == 429 and int(h["retry-after"]) > 0
    # Throttled before the comparison: even the right passphrase waits now.
    st, _ = anon.call("POST", "/api/share/open", {"token": js["token"], "auth_key": b64(good)})
    assert st == 429
    st, _ = share_data(srv, js["token"], good, world["segs"][0]["id"])
    assert st == 429
    assert sum(1 for x, d in audit_actions(c) if x == "share.denied" and d.get("share") == js["id"]) == 10


def test_share_link_expires(srv, world):
    from grants_util import share_keys
    from vigil_web import Client
    c = world["c"]
    st, js = share_create(c, world, "soon gone passphrase", world["segs"][:1], expires_in=2)
    assert st == 201
    anon = Client(srv)
    st, p = anon.call("POST", "/api/share/params", {"token": js["token"]})
    assert st == 200
    _, ak = share_keys("soon gone passphrase", unb64(p["salt"]))
    time.sleep(3)
    st, r = anon.call("POST", "/api/share/open", {"token": js["token"], "auth_key": b64(ak)})
    assert st == 403 and r["error"] == "share_ended"
    assert app_rows(srv, "SELECT state FROM shares WHERE id = ?", (js["id"],))[0][0] == "expired"
    assert app_rows(srv, "SELECT COUNT(*) FROM share_keys WHERE share_id = ?", (js["id"],))[0][0] == 0
    assert any(x == "share.expired" and d.get("share") == js["id"] for x, d in audit_actions(c))
    # Only an admin creates shares; a support account cannot.
    st, _ = world["sc"].call("GET", "/api/shares")
    assert st == 403


# ---- the recorder's own check --------------------------------------------------------

def restart(srv):
    """Starts `vigil run` again on the same data directory and port."""
    import os
    import subprocess
    from vigil_web import ROOT, VIGIL, sanitizer_env
    srv.err = open(srv.errpath, "ab")
    mark = len(srv.stderr())
    srv.proc = subprocess.Popen(
        [VIGIL, "run", "--data", os.path.join(srv.dir, "data"), "--demo", "--camera-key",
         os.path.join(srv.dir, "store.key.pub"), "--segment-seconds", "4", "--listen", "127.0.0.1:%d" % srv.port,
         "--ui", os.path.join(ROOT, "ui")], stdout=srv.err, stderr=srv.err, cwd=ROOT, env=sanitizer_env())
    deadline = time.time() + 30
    while time.time() < deadline and "listening on" not in srv.stderr()[mark:]:
        assert srv.proc.poll() is None, srv.stderr()[mark:]
        time.sleep(0.05)
    return mark


def test_recorder_refuses_a_forged_grant_on_its_own():
    """The server's checks bypassed: a grant altered in app.db after it was
    signed (here: a later expiry) reaches the recorder at start, which refuses
    it; nothing new is sealed to the grantee."""
    from test_live import RunServer
    srv = RunServer()
    try:
        c, owner, me, cam, cam_sk = keyed_org(srv)
        osk, st, _ = set_sign_key(c)
        assert st == 200
        sup = make_support(srv, "support@vendor.example")
        t0 = now90k()
        exp = int(time.time()) + 3600
        st, js = issue(c, osk, statement(me["org"]["uid"], sup.id, sup.pk, ["demo"], t0, t0 + 3600 * 90000, exp))
        assert st == 201 and js["live"] is True, js
        gid = js["id"]
        closed_segments(c, cam, cam_sk, 1, after90k=t0)
        assert index_grant_keys(srv, gid), "the genuine grant is sealed to"
        assert srv.stop() == 0
        import sqlite3
        import os
        db = sqlite3.connect(os.path.join(srv.dir, "data", "app.db"))
        db.execute("UPDATE grants SET statement = replace(statement, 'expires %d', 'expires %d') WHERE id = ?"
                   % (exp, exp + 86400), (gid,))
        db.commit()
        db.close()
        mark = restart(srv)
        deadline = time.time() + 10
        while "grant %d refused: its signature does not verify" % gid not in srv.stderr()[mark:]:
            assert time.time() < deadline, srv.stderr()[mark:]
            time.sleep(0.1)
        before = {r[0] for r in index_grant_keys(srv, gid)}
        c2, st, _ = login(srv, owner)
        assert st == 200
        closed_segments(c2, cam, cam_sk, 1, after90k=now90k())
        assert {r[0] for r in index_grant_keys(srv, gid)} == before, "sealed to a forged grant"
    finally:
        assert srv.stop() == 0, srv.stderr()
        srv.cleanup()
