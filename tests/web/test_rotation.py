# SPDX-License-Identifier: Apache-2.0
"""Camera key rotation and crypto-shredding (docs/design/keys.md "Rotation and
crypto-shredding"), against `vigil run --demo` with a tiny store-wide retention
(every closed segment is deleted within a sync round). The test plays the
admin's browser: it makes each period's key pair and seals it.

What it proves:
- a removed member's wraps are gone, and a member who kept a copy of the old
  camera secret key cannot open a segment key sealed after the rotation;
- the server refuses to make an earlier period's key current again;
- once retention has removed every segment sealed to a period, no wrapped copy
  of that period's key is left in app.db: a backup of the old segment files
  opens with no member's key and not with the recovery key, while the new
  period still decrypts;
- the rotation settings, the due computation, and the audit entries."""
import glob
import os
import shutil
import sqlite3
import time

import pytest
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from test_live import ENV_HDR, F_INIT, KeyedMember, RunServer, open_envelope
from vigil_web import b64, fingerprint, login, setup_org

SEG_HDR_SEALED, SEG_HDR_PK = 104, 184


def unb64(s):
    import base64
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@pytest.fixture(scope="module")
def srv():
    s = RunServer(extra=["--retain-bytes", "1"])
    yield s
    assert s.stop() == 0, s.stderr()
    s.cleanup()


class Org:
    """Owner with a real key pair, a known recovery key, the demo camera."""

    def __init__(self, srv):
        self.srv = srv
        self.owner = KeyedMember("owner@example.com")
        self.c, self.owner = setup_org(srv, self.owner)
        st, self.me = self.c.call("GET", "/api/me")
        assert st == 200
        self.org_uid = bytes.fromhex(self.me["footage_org_id"])
        st, cams = self.c.call("GET", "/api/cameras")
        self.cam = [x for x in cams["cameras"] if x["builtin"]][0]["id"]
        # The recovery key the test keeps (shown once to the owner at setup in the app).
        self.recovery = PrivateKey.generate()

    def put_key(self, cam_sk, members, reason=None):
        """PUT /key as an admin's browser does: the secret sealed to each member and to recovery."""
        body = {"footage_pk": b64(bytes(cam_sk.public_key)),
                "recovery_sealed_sk": b64(SealedBox(self.recovery.public_key).encrypt(bytes(cam_sk))),
                "wrapped": [{"member_id": mid, "sealed_sk": b64(SealedBox(PublicKey(pk)).encrypt(bytes(cam_sk)))}
                            for mid, pk in members]}
        if reason:
            body["reason"] = reason
        return self.c.call("PUT", "/api/cameras/%d/key" % self.cam, body)

    def db(self):
        con = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.srv.dir, "data", "app.db"), uri=True,
                              timeout=10)
        return con

    def segment_sealed_to(self, pk, timeout=40):
        """The metadata of a segment of the demo camera sealed to pk (waits for one)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, rec = self.c.call("GET", "/api/cameras/%d/recordings" % self.cam)
            assert st == 200, rec
            for s in reversed(rec["segments"]):
                st, meta = self.c.call("GET", "/api/segments/%d" % s["id"])
                if st == 200 and unb64(meta["footage_pk"]) == pk and len(meta["fragments"]) >= 2:
                    return meta
            time.sleep(0.5)
        raise AssertionError("no segment sealed to %s" % fingerprint(pk))

    def audit(self, action):
        st, a = self.c.call("GET", "/api/audit")
        assert st == 200 and a["verified"]
        return [e for e in a["entries"] if e["action"] == action]


def decrypts(org, meta, cam_sk_bytes, c):
    """True if cam_sk opens the segment's content key and its init envelope."""
    try:
        ckey = SealedBox(PrivateKey(cam_sk_bytes)).decrypt(unb64(meta["sealed_key"]))
    except CryptoError:
        return False
    f = meta["fragments"][0]
    st, js, h, body = c.raw("GET", "/api/segments/%d/data" % meta["id"],
                            headers={"Range": "bytes=%d-%d" % (f["offset"], f["offset"] + f["length"] - 1)})
    assert st == 206
    flags, plain = open_envelope(org.org_uid, ckey, body)
    assert flags & F_INIT and plain[4:8] == b"ftyp"
    return True


def open_all_wraps(org, keys):
    """Every camera secret key that any wrap in app.db gives to one of `keys`
    (X25519 private keys: members' and the recovery key)."""
    con = org.db()
    blobs = [r[0] for r in con.execute("SELECT sealed_sk FROM camera_keys")]
    blobs += [r[0] for r in con.execute("SELECT sealed_sk FROM camera_period_keys")]
    blobs += [r[0] for r in con.execute("SELECT recovery_sealed_sk FROM cameras WHERE recovery_sealed_sk IS NOT NULL")]
    blobs += [r[0] for r in con.execute("SELECT recovery_sealed_sk FROM camera_key_periods "
                                        "WHERE recovery_sealed_sk IS NOT NULL")]
    con.close()
    out = set()
    for blob in blobs:
        for k in keys:
            try:
                out.add(SealedBox(k).decrypt(bytes(blob)))
            except CryptoError:
                pass
    return out, len(blobs)


def test_rotation_settings_and_due(srv):
    org = Org(srv)
    c = org.c
    st, js = c.call("GET", "/api/keys/rotation")
    assert st == 200 and js["period_days"] == 30 and js["cameras"] == []
    for bad in ({}, {"period_days": 0}, {"period_days": 367}, {"period_days": "7"}, {"period_days": 1.5}):
        assert c.call("PUT", "/api/keys/rotation", bad)[0] == 400, bad
    assert c.call("PUT", "/api/keys/rotation", {"period_days": 7}, origin="https://evil.example")[0] == 403
    st, js = c.call("PUT", "/api/keys/rotation", {"period_days": 7})
    assert st == 200 and js["period_days"] == 7
    assert org.audit("org.key_rotation")[0]["detail"] == {"period_days": 7}

    k1 = PrivateKey.generate()
    assert org.put_key(k1, [(org.me["id"], org.owner.pk)])[0] == 200
    st, js = c.call("GET", "/api/keys/rotation")
    cam = [x for x in js["cameras"] if x["id"] == org.cam][0]
    assert cam["fingerprint"] == fingerprint(bytes(k1.public_key))
    assert cam["next_rotation"] == cam["created"] + 7 * 86400 and cam["due"] is False
    assert len(cam["periods"]) == 1 and cam["periods"][0]["retired"] is None

    assert cam["holders"] == [org.me["id"]]
    # A period becomes due: backdate it past the organization's period.
    assert c.call("PUT", "/api/keys/rotation", {"period_days": 1})[0] == 200
    k2 = PrivateKey.generate()
    st, js = org.put_key(k2, [(org.me["id"], org.owner.pk)], reason="due")
    assert st == 409 and js["error"] == "not_due"       # not due yet: refused
    con = sqlite3.connect(os.path.join(srv.dir, "data", "app.db"), timeout=10)
    con.execute("UPDATE camera_key_periods SET created = created - 2 * 86400")
    con.commit()
    con.close()
    st, js = c.call("GET", "/api/keys/rotation")
    assert [x for x in js["cameras"] if x["id"] == org.cam][0]["due"] is True
    assert org.put_key(k2, [(org.me["id"], org.owner.pk)], reason="due")[0] == 200
    # A second browser that saw the same due period finds it rotated already.
    st, js = org.put_key(PrivateKey.generate(), [(org.me["id"], org.owner.pk)], reason="due")
    assert st == 409 and js["error"] == "not_due"
    st, js = c.call("GET", "/api/keys/rotation")
    cam = [x for x in js["cameras"] if x["id"] == org.cam][0]
    assert cam["due"] is False and cam["fingerprint"] == fingerprint(bytes(k2.public_key))
    assert [p["retired"] is None for p in cam["periods"]] == [True, False]
    assert org.audit("camera.key.rotate")[0]["detail"]["reason"] == "due"

    # A viewer can neither read nor change the rotation settings.
    st, inv = c.call("POST", "/api/members", {"email": "v1@example.com", "role": "viewer"})
    v = KeyedMember("v1@example.com", with_totp=False)
    pub = srv.client()
    assert pub.call("POST", "/api/setup/invite", dict(v.keys(), token=inv["token"]))[0] == 201
    assert pub.call("GET", "/api/keys/rotation")[0] == 403
    assert pub.call("PUT", "/api/keys/rotation", {"period_days": 1})[0] == 403
    # ... nor read keys of a camera not shared with it (403, audited).
    assert pub.call("GET", "/api/cameras/%d/keys" % org.cam)[0] == 403
    assert any(e["actor"] == "v1@example.com" and e["detail"].get("what") == "keys"
               for e in org.audit("camera.denied"))
    assert srv.client().call("GET", "/api/cameras/%d/keys" % org.cam)[0] == 401

    # Sharing the camera with the viewer: the current period, then the earlier one (the archive).
    vid = [m["id"] for m in c.call("GET", "/api/members")[1]["members"] if m["email"] == v.email][0]
    seal = lambda k: b64(SealedBox(v.box_sk.public_key).encrypt(bytes(k)))  # noqa: E731
    assert c.call("POST", "/api/cameras/%d/key/wrap" % org.cam, {"member_id": vid, "sealed_sk": seal(k2)})[0] == 200
    st, js = pub.call("GET", "/api/cameras/%d/keys" % org.cam)
    assert st == 200 and [p["current"] for p in js["periods"]] == [True]
    st, js = c.call("POST", "/api/cameras/%d/key/wrap" % org.cam,
                    {"member_id": vid, "sealed_sk": seal(k1), "footage_pk": b64(os.urandom(32))})
    assert st == 404 and js["error"] == "no_period"
    st, js = c.call("POST", "/api/cameras/%d/key/wrap" % org.cam,
                    {"member_id": vid, "sealed_sk": seal(k1), "footage_pk": b64(bytes(k1.public_key))})
    assert st == 200
    st, js = pub.call("GET", "/api/cameras/%d/keys" % org.cam)
    opened = {unb64(p["footage_pk"]): SealedBox(v.box_sk).decrypt(unb64(p["sealed_sk"])) for p in js["periods"]}
    assert opened == {bytes(k1.public_key): bytes(k1), bytes(k2.public_key): bytes(k2)}
    assert org.audit("camera.key.wrap")[0]["detail"]["fingerprint"] == fingerprint(bytes(k1.public_key))


def test_rotate_exclude_removed_member_then_shred(tmp_path):
    # One organization per server (the demo camera): this test runs on its own server.
    s2 = RunServer(extra=["--retain-bytes", "1"])
    try:
        run_rotation_and_shred(s2, tmp_path)
    finally:
        assert s2.stop() == 0, s2.stderr()
        s2.cleanup()


def run_rotation_and_shred(srv, tmp_path):
    org = Org(srv)
    c = org.c
    # Period 1, sealed to the owner, then shared with a viewer.
    k1 = PrivateKey.generate()
    pk1 = bytes(k1.public_key)
    assert org.put_key(k1, [(org.me["id"], org.owner.pk)])[0] == 200
    st, inv = c.call("POST", "/api/members", {"email": "gone@example.com", "role": "viewer"})
    v = KeyedMember("gone@example.com", with_totp=False)
    vc = srv.client()
    assert vc.call("POST", "/api/setup/invite", dict(v.keys(), token=inv["token"]))[0] == 201
    st, members = c.call("GET", "/api/members")
    vid = [m["id"] for m in members["members"] if m["email"] == v.email][0]
    sealed = SealedBox(v.box_sk.public_key).encrypt(bytes(k1))
    assert c.call("POST", "/api/cameras/%d/key/wrap" % org.cam, {"member_id": vid, "sealed_sk": b64(sealed)})[0] == 200
    # The viewer opens its copy and keeps it.
    st, js = vc.call("GET", "/api/cameras/%d/keys" % org.cam)
    assert st == 200 and js["current"] == b64(pk1) and len(js["periods"]) == 1
    kept = SealedBox(v.box_sk).decrypt(unb64(js["periods"][0]["sealed_sk"]))
    assert kept == bytes(k1)

    meta1 = org.segment_sealed_to(pk1)
    assert decrypts(org, meta1, kept, vc)
    # The "backup": copies of the segment files sealed to period 1, taken now.
    backup = tmp_path / "backup"
    backup.mkdir()
    for p in glob.glob(os.path.join(srv.dir, "data", "segments", "*", "*.vseg")):
        try:
            shutil.copy(p, backup / (os.path.basename(os.path.dirname(p)) + "-" + os.path.basename(p)))
        except FileNotFoundError:
            pass   # deleted by retention meanwhile
    backups = [p for p in backup.iterdir() if p.read_bytes()[SEG_HDR_PK:SEG_HDR_PK + 32] == pk1]
    assert backups, "no period-1 segment file to back up"

    # Removing the member deletes every wrap it had.
    assert c.call("DELETE", "/api/members/%d" % vid)[0] == 200
    con = org.db()
    assert con.execute("SELECT COUNT(*) FROM camera_keys WHERE member_id = ?", (vid,)).fetchone()[0] == 0
    assert con.execute("SELECT COUNT(*) FROM camera_period_keys WHERE member_id = ?", (vid,)).fetchone()[0] == 0
    con.close()

    # Rotation: period 2, sealed to the members still entitled (the owner).
    k2 = PrivateKey.generate()
    pk2 = bytes(k2.public_key)
    st, js = org.put_key(k2, [(org.me["id"], org.owner.pk)], reason="manual")
    assert st == 200 and js["footage_fingerprint"] == fingerprint(pk2)
    rot = org.audit("camera.key.rotate")
    assert rot and rot[0]["detail"]["previous"] == fingerprint(pk1) and rot[0]["detail"]["fingerprint"] == \
        fingerprint(pk2) and rot[0]["detail"]["members"] == [org.me["id"]] and rot[0]["detail"]["reason"] == "manual"
    # An earlier period's key never becomes current again (it would re-admit the removed member).
    st, js = org.put_key(k1, [(org.me["id"], org.owner.pk)])
    assert st == 409 and js["error"] == "key_reused"

    # The owner holds both periods; the browser picks by the segment's sealing key.
    st, js = c.call("GET", "/api/cameras/%d/keys" % org.cam)
    assert st == 200 and js["current"] == b64(pk2)
    by_pk = {unb64(p["footage_pk"]): p for p in js["periods"]}
    assert set(by_pk) == {pk1, pk2} and by_pk[pk1]["retired"] is not None and by_pk[pk2]["current"]
    assert SealedBox(org.owner.box_sk).decrypt(unb64(by_pk[pk1]["sealed_sk"])) == bytes(k1)

    # The recorder switches at its next segment, without a restart.
    meta2 = org.segment_sealed_to(pk2)
    assert decrypts(org, meta2, bytes(k2), c)
    # The cryptographic exclusion: the removed member's kept copy opens nothing sealed after the rotation.
    with pytest.raises(CryptoError):
        SealedBox(PrivateKey(kept)).decrypt(unb64(meta2["sealed_key"]))
    assert not decrypts(org, meta2, kept, c)
    st, cs = c.call("GET", "/api/cameras")
    demo = [x for x in cs["cameras"] if x["id"] == org.cam][0]
    assert demo["status"]["state"] == "recording", demo["status"]

    # Retention removes every period-1 segment; then the period is shredded.
    deadline = time.time() + 60
    shred = []
    while time.time() < deadline and not shred:
        shred = org.audit("camera.key.shred")
        time.sleep(1)
    assert shred, "period 1 was not shredded"
    assert shred[0]["actor"] == "vigil" and shred[0]["detail"]["fingerprint"] == fingerprint(pk1)
    assert shred[0]["detail"]["wrapped_copies"] == 2   # the owner's and the recovery copy
    st, rec = c.call("GET", "/api/cameras/%d/recordings" % org.cam)
    for s in rec["segments"]:
        st, m = c.call("GET", "/api/segments/%d" % s["id"])
        assert st != 200 or unb64(m["footage_pk"]) != pk1, "shredded while a segment is still sealed to it"
    con = org.db()
    row = con.execute("SELECT shredded, recovery_sealed_sk FROM camera_key_periods WHERE footage_pk = ?",
                      (pk1,)).fetchone()
    assert row[0] is not None and row[1] is None
    con.close()
    st, js = c.call("GET", "/api/cameras/%d/keys" % org.cam)
    assert [unb64(p["footage_pk"]) for p in js["periods"]] == [pk2]
    st, js = c.call("GET", "/api/keys/rotation")
    periods = [x for x in js["cameras"] if x["id"] == org.cam][0]["periods"]
    assert [p["shredded"] is not None for p in periods] == [False, True]

    # The backup against the current database: every wrap the owner's or the
    # recovery key opens yields only period 2's key, which opens no backup file.
    opened, nwraps = open_all_wraps(org, [org.owner.box_sk, org.recovery])
    assert nwraps >= 2 and opened == {bytes(k2)}
    for p in backups:
        sealed_ck = p.read_bytes()[SEG_HDR_SEALED:SEG_HDR_SEALED + 80]
        for sk in opened:
            with pytest.raises(CryptoError):
                SealedBox(PrivateKey(sk)).decrypt(sealed_ck)
        # (the test itself still holds k1: the backup really is period-1 footage)
        assert len(SealedBox(k1).decrypt(sealed_ck)) == 32
    # ... and the new period still decrypts.
    meta2 = org.segment_sealed_to(pk2)
    assert decrypts(org, meta2, bytes(k2), c)
    # The shredded bytes are not left in the database files (secure_delete + WAL checkpoint).
    old_wrap = bytes(by_pk[pk1]["sealed_sk"], "ascii")
    raw = b"".join(open(f, "rb").read() for f in glob.glob(os.path.join(srv.dir, "data", "app.db*")))
    assert unb64(old_wrap.decode()) not in raw


def test_migration_gives_keyed_cameras_a_period(tmp_path):
    """A database from before rotation (version 5) with a keyed camera: the
    version-6 migration records the camera's current key as its first period,
    so the next PUT is a rotation that keeps the old key's wraps."""
    import re
    import subprocess
    from vigil_web import ROOT, VIGIL, Server, free_port, sanitizer_env

    class ServeAt(Server):
        def __init__(self, data):
            self.dir = str(tmp_path)
            self.port = free_port()
            self.origin = "https://127.0.0.1:%d" % self.port
            self.errpath = os.path.join(self.dir, "stderr-%d.txt" % self.port)
            self.err = open(self.errpath, "wb")
            self.proc = subprocess.Popen(
                [VIGIL, "serve", "--data", data, "--listen", "127.0.0.1:%d" % self.port, "--ui",
                 os.path.join(ROOT, "ui")], stdout=self.err, stderr=self.err, cwd=ROOT, env=sanitizer_env())
            self.setup_token = None
            deadline = time.time() + 20
            while time.time() < deadline:
                m = re.search(r"#setup=([A-Za-z0-9_-]{43})", self.stderr())
                if m:
                    self.setup_token = m.group(1)
                if "listening on" in self.stderr():
                    return
                time.sleep(0.05)
            raise RuntimeError("vigil serve did not start: " + self.stderr())

    data = str(tmp_path / "data")
    s = ServeAt(data)
    owner = KeyedMember("owner@example.com")
    c, owner = setup_org(s, owner)
    st, me = c.call("GET", "/api/me")
    st, js = c.call("POST", "/api/cameras", {"name": "gate", "url": "rtsp://127.0.0.1:1/x"})
    assert st == 201
    cam = js["id"]
    k1 = PrivateKey.generate()
    rec = PrivateKey.generate()
    body = {"footage_pk": b64(bytes(k1.public_key)),
            "recovery_sealed_sk": b64(SealedBox(rec.public_key).encrypt(bytes(k1))),
            "wrapped": [{"member_id": me["id"], "sealed_sk": b64(SealedBox(owner.box_sk.public_key).encrypt(bytes(k1)))}]}
    assert c.call("PUT", "/api/cameras/%d/key" % cam, body)[0] == 200
    assert s.stop() == 0
    # Back to version 5, the last one before key periods: no period tables.
    # (Later steps only add their own tables, idempotently.)
    con = sqlite3.connect(os.path.join(data, "app.db"))
    latest = con.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()[0]
    con.executescript("DROP TABLE camera_period_keys; DROP TABLE camera_key_periods; DROP TABLE key_rotation;"
                      "UPDATE meta SET v = '5' WHERE k = 'schema_version';")
    con.close()

    s = ServeAt(data)
    try:
        c, st, _ = login(s, owner)
        assert st == 200
        con = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "app.db"), uri=True)
        assert con.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()[0] == latest
        assert con.execute("SELECT footage_pk, retired FROM camera_key_periods").fetchall() == \
            [(bytes(k1.public_key), None)]
        con.close()
        st, js = c.call("GET", "/api/keys/rotation")
        assert st == 200 and js["cameras"][0]["fingerprint"] == fingerprint(bytes(k1.public_key))
        k2 = PrivateKey.generate()
        body["footage_pk"] = b64(bytes(k2.public_key))
        body["wrapped"][0]["sealed_sk"] = b64(SealedBox(owner.box_sk.public_key).encrypt(bytes(k2)))
        assert c.call("PUT", "/api/cameras/%d/key" % cam, body)[0] == 200
        st, js = c.call("GET", "/api/cameras/%d/keys" % cam)
        assert sorted(unb64(p["footage_pk"]) for p in js["periods"]) == sorted([bytes(k1.public_key),
                                                                                bytes(k2.public_key)])
    finally:
        assert s.stop() == 0, s.stderr()
