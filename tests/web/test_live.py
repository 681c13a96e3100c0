# SPDX-License-Identifier: Apache-2.0
"""Live view over the web (docs/design/live.md "Live"), against `vigil run`
with the demo camera and the web enabled. The test plays the browser: it makes
the camera's footage key pair, uploads it sealed to the owner, reads
/api/live, opens the SEGMENT's content key and decrypts every CHUNK."""
import http.client
import os
import re
import struct
import subprocess
import sys
import time

import pytest
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
from nacl.public import PrivateKey, SealedBox

from vigil_web import ROOT, VIGIL, Member, Server, b64, login, sanitizer_env, setup_org

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from nomedia import entropy  # noqa: E402  (one checker for every no-plaintext test)

ENV_HDR = 76
F_KEY, F_INIT, F_LIVE = 1, 2, 4


class RunServer(Server):
    """`vigil run --demo` with the web on a free port."""

    def __init__(self, extra=(), demo=True):
        import tempfile
        from vigil_web import free_port
        self.dir = tempfile.mkdtemp(prefix="vigil-live-")
        self.port = free_port()
        self.origin = "https://127.0.0.1:%d" % self.port
        self.errpath = os.path.join(self.dir, "stderr.txt")
        self.err = open(self.errpath, "wb")
        data = os.path.join(self.dir, "data")
        key = os.path.join(self.dir, "store.key")
        subprocess.run([VIGIL, "keys", "new", "--out", key], check=True, capture_output=True)
        self.proc = subprocess.Popen(
            [VIGIL, "run", "--data", data] + (["--demo"] if demo else []) + ["--camera-key", key + ".pub", "--segment-seconds", "4",
             "--listen", "127.0.0.1:%d" % self.port, "--ui", os.path.join(ROOT, "ui")] + list(extra),
            stdout=self.err, stderr=self.err, cwd=ROOT, env=sanitizer_env())
        self.setup_token = None
        deadline = time.time() + 30
        while time.time() < deadline:
            text = self.stderr()
            m = re.search(r"#setup=([A-Za-z0-9_-]{43})", text)
            if m:
                self.setup_token = m.group(1)
            if "listening on" in text and self.setup_token:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("vigil run exited: " + text)
            time.sleep(0.05)
        raise RuntimeError("vigil run did not start: " + self.stderr())


def served_run():
    """A `vigil run --demo` for a module's tests (as a fixture: `srv = pytest.fixture(served_run,
    scope="module", name="srv")`); after them it must exit 0, and its directory goes."""
    s = RunServer()
    yield s
    assert s.stop() == 0, s.stderr()
    s.cleanup()


class KeyedMember(Member):
    """A member whose public key is a real X25519 key (the browser's)."""

    def __init__(self, email, with_totp=True):
        super().__init__(email, with_totp)
        self.box_sk = PrivateKey.generate()
        self.pk = bytes(self.box_sk.public_key)


def parse_records(buf):
    """Complete records of a live stream: (type, camera, payload), rest."""
    out, off = [], 0
    while len(buf) - off >= 4:
        n = struct.unpack(">I", buf[off:off + 4])[0]
        assert 5 <= n <= 64 << 20, n
        if len(buf) - off - 4 < n:
            break
        typ, cam = struct.unpack(">BI", buf[off + 4:off + 9])
        out.append((typ, cam, buf[off + 9:off + 4 + n]))
        off += 4 + n
    return out, buf[off:]


def open_envelope(org, ckey, env):
    assert env[:4] == b"VGE\x01"
    ct_len = struct.unpack(">I", env[72:76])[0]
    assert len(env) == ENV_HDR + ct_len
    return env[4], crypto_aead_xchacha20poly1305_ietf_decrypt(env[ENV_HDR:], org + env[:ENV_HDR], env[48:72], ckey)


def stream(srv, client, path, seconds):
    """Reads a streamed response for `seconds`; returns (status, bytes)."""
    c = http.client.HTTPSConnection("127.0.0.1", srv.port, context=client.ctx, timeout=10)
    c.request("GET", path, headers={"Cookie": "__Host-vg_session=" + client.cookie})
    r = c.getresponse()
    if r.status != 200:
        body = r.read()
        c.close()
        return r.status, body
    data = b""
    end = time.time() + seconds
    while time.time() < end:
        chunk = r.read1(65536) if hasattr(r, "read1") else r.read(4096)
        if not chunk:
            break
        data += chunk
    c.close()
    return 200, data


def keyed_org(srv):
    """Org + owner with a real key pair; the demo camera gets its own footage key."""
    owner = KeyedMember("owner@example.com")
    c, owner = setup_org(srv, owner)
    st, me = c.call("GET", "/api/me")
    assert st == 200 and len(me["footage_org_id"]) == 32
    st, cams = c.call("GET", "/api/cameras")
    demo = [x for x in cams["cameras"] if x["builtin"]]
    assert len(demo) == 1, cams
    cam_sk = PrivateKey.generate()
    sealed = SealedBox(owner.box_sk.public_key).encrypt(bytes(cam_sk))
    recovery = SealedBox(PrivateKey.generate().public_key).encrypt(bytes(cam_sk))
    st, js = c.call("PUT", "/api/cameras/%d/key" % demo[0]["id"],
                    {"footage_pk": b64(bytes(cam_sk.public_key)), "recovery_sealed_sk": b64(recovery),
                     "wrapped": [{"member_id": me["id"], "sealed_sk": b64(sealed)}]})
    assert st == 200, js
    return c, owner, me, demo[0]["id"], cam_sk


@pytest.fixture(scope="module")
def srv():
    s = RunServer()
    yield s
    assert s.stop() == 0, s.stderr()
    assert "ERROR: AddressSanitizer" not in s.stderr()
    assert "runtime error" not in s.stderr()
    s.cleanup()


@pytest.fixture(scope="module")
def org(srv):
    return keyed_org(srv)


def unb64(s):
    import base64
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def test_camera_key_roundtrip_and_status(srv, org):
    c, owner, me, cam, cam_sk = org
    st, js = c.call("GET", "/api/cameras/%d/key" % cam)
    assert st == 200
    sk = SealedBox(owner.box_sk).decrypt(unb64(js["sealed_sk"]))
    assert sk == bytes(cam_sk) and unb64(js["footage_pk"]) == bytes(cam_sk.public_key)
    deadline = time.time() + 10
    while time.time() < deadline:
        st, cams = c.call("GET", "/api/cameras")
        s = [x for x in cams["cameras"] if x["id"] == cam][0]["status"]
        if s["state"] == "recording" and s["bitrate"] > 0:
            break
        time.sleep(0.5)
    assert s["state"] == "recording" and s["codec"] == "h264" and s["width"] == 640, s
    assert "password" not in str(cams) and "rtsp_user" not in str(cams)


def read_live(srv, c, cam, cam_sk, seconds):
    st, data = stream(srv, c, "/api/live?camera=%d" % cam, seconds)
    assert st == 200, data
    recs, rest = parse_records(data)
    return recs


def test_live_plays_encrypted(srv, org):
    c, owner, me, cam, cam_sk = org
    org_id = bytes.fromhex(me["footage_org_id"])
    # The key was just set: the recorder switches at its next keyframe (2 s GOP).
    time.sleep(2.5)
    recs = read_live(srv, c, cam, cam_sk, 4)
    types = [t for t, _, _ in recs]
    assert 1 in types and 2 in types, types[:20]
    ckeys = {}
    frames = []
    chunk_bytes = b""
    for typ, rcam, p in recs:
        assert rcam == cam
        if typ == 1:
            seg = struct.unpack(">Q", p[:8])[0]
            try:
                ckey = SealedBox(cam_sk).decrypt(p[8:88])
            except Exception:
                continue   # sealed to the store-wide key (before the switch)
            ckeys[seg] = ckey
            flags, init = open_envelope(org_id, ckey, p[88:])
            assert flags & F_INIT and init[4:8] == b"ftyp"
            assert p[88 + ENV_HDR:88 + ENV_HDR + 8].find(b"ftyp") < 0
        elif typ == 2:
            seg = struct.unpack(">Q", p[12:20])[0]
            chunk_bytes += p[ENV_HDR:]
            assert p[ENV_HDR + 4:ENV_HDR + 8] not in (b"moof", b"ftyp", b"mdat")
            if seg not in ckeys:
                continue
            flags, plain = open_envelope(org_id, ckeys[seg], p)
            assert plain[4:8] == b"moof", plain[:16]
            frames.append((flags, struct.unpack(">q", p[36:44])[0]))
        elif typ == 3:
            assert p.startswith(b"{")
    assert ckeys, "no SEGMENT sealed to the camera key"
    live = [f for f in frames if f[0] & F_LIVE]
    assert len(live) >= 40, len(live)   # 20 fps for ~3 s after the first keyframe
    ts = [t for _, t in live]
    assert ts == sorted(ts)
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    assert max(gaps) <= 9000, max(gaps)   # continuous: no hole over 100 ms at 20 fps
    assert len(chunk_bytes) > 100000 and entropy(chunk_bytes) > 7.9


def test_new_viewer_starts_at_keyframe(srv, org):
    c, owner, me, cam, cam_sk = org
    org_id = bytes.fromhex(me["footage_org_id"])
    recs = read_live(srv, c, cam, cam_sk, 1.5)
    first_chunk = None
    ckey = None
    for typ, _, p in recs:
        if typ == 1:
            ckey = SealedBox(cam_sk).decrypt(p[8:88])
        if typ == 2 and first_chunk is None:
            first_chunk = p
    assert ckey and first_chunk
    flags, plain = open_envelope(org_id, ckey, first_chunk)
    assert flags & F_KEY, flags   # decodable from the first chunk


def test_live_security(srv, org):
    c, owner, me, cam, cam_sk = org
    anon = srv.client()
    assert anon.call("GET", "/api/live?camera=%d" % cam)[0] == 401
    assert c.call("GET", "/api/live")[0] == 400
    assert c.call("GET", "/api/live?camera=abc")[0] == 400
    assert c.call("GET", "/api/live?camera=999999")[0] == 404
    # A viewer without a wrapped key: 403, audited.
    st, inv = c.call("POST", "/api/members", {"email": "v@example.com", "role": "viewer"})
    v = KeyedMember("v@example.com", with_totp=False)
    pub = srv.client()
    assert pub.call("POST", "/api/setup/invite", dict(v.keys(), token=inv["token"]))[0] == 201
    assert pub.call("GET", "/api/live?camera=%d" % cam)[0] == 403
    assert pub.call("GET", "/api/cameras/%d/key" % cam)[0] == 403
    st, audit = c.call("GET", "/api/audit")
    denied = [e for e in audit["entries"] if e["action"] == "camera.denied"]
    assert any(e["actor"] == "v@example.com" for e in denied)
    assert any(e["action"] == "live.view" for e in audit["entries"])
    # Cross-origin key upload: 403 before anything.
    st, _ = c.call("PUT", "/api/cameras/%d/key" % cam, {}, origin="https://evil.example")
    assert st == 403
    # Granting the viewer the key lets it watch.
    sealed = SealedBox(v.box_sk.public_key).encrypt(bytes(cam_sk))
    st, members = c.call("GET", "/api/members")
    vid = [m["id"] for m in members["members"] if m["email"] == "v@example.com"][0]
    st, _ = c.call("POST", "/api/cameras/%d/key/wrap" % cam, {"member_id": vid, "sealed_sk": b64(sealed)})
    assert st == 200
    st, js = pub.call("GET", "/api/cameras/%d/key" % cam)
    assert st == 200 and SealedBox(v.box_sk).decrypt(unb64(js["sealed_sk"])) == bytes(cam_sk)
    st, data = stream(srv, pub, "/api/live?camera=%d" % cam, 1)
    assert st == 200 and data
    # Removing the member removes its wrapped keys.
    assert c.call("DELETE", "/api/members/%d" % vid)[0] == 200
    v2, st, _ = login(srv, v)
    assert st == 401
    # The viewer's open stream ends with its session (reaped within a tick).
