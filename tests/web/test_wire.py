# SPDX-License-Identifier: Apache-2.0
"""Nothing the server stores or sends a browser is readable media (docs/security.md P15).

One ASan `vigil run` with the web on records a real gst-rtsp-server camera
(tests/integration/camera.py, the 2 Mbit/s H.264 test clip). A logged-in client then
makes every media request the browser app makes — the live stream (at least 1 MiB),
the playback and export reads of archive.js (init envelope, batches of contiguous
fragments, the segment header and trailer the signature check reads) and whole-segment
reads — and the test keeps every body byte. After vigil stops, the segment files on
disk are read too. Each capture must pass every check of tests/integration/nomedia.py:
no ISO BMFF box at the start of a body or of any envelope's ciphertext (nor anywhere
with a size that fits), ffprobe finds no stream, entropy >= 7.99 bits/byte over at least
1 MiB, and no 16-byte window of the clip's IDR NAL units anywhere. Positive controls
show the checks can fail: the same bytes, decrypted with the camera key, hold the
keyframe windows and ffprobe finds the H.264 stream in them."""
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

from test_live import KeyedMember, RunServer, parse_records
from vigil_web import ROOT, b64, setup_org

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import clips  # noqa: E402
import nomedia  # noqa: E402

LIVE_BYTES = 1 << 20
BATCH_BYTES = 4 * 1024 * 1024   # archive.js BATCH_BYTES


class Camera:
    """tests/integration/camera.py serving the H.264 clip on a free port."""

    def __init__(self, tmp):
        self.out = os.path.join(tmp, "camera.out")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "tests", "integration", "camera.py"), "--clip",
             clips.clip_path("h264"), "--codec", "h264", "--transport", "tcp", "--max-seconds", "170"],
            stdout=open(self.out, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            m = re.search(r"READY port=(\d+)", open(self.out).read())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("camera did not start: " + open(self.out).read()[-2000:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def unb64(s):
    import base64
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def get(srv, client, path, rng=None):
    c = http.client.HTTPSConnection("127.0.0.1", srv.port, context=client.ctx, timeout=20)
    h = {"Cookie": "__Host-vg_session=" + client.cookie}
    if rng:
        h["Range"] = rng
    c.request("GET", path, headers=h)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def read_live(srv, client, cam, want, limit_s=40):
    c = http.client.HTTPSConnection("127.0.0.1", srv.port, context=client.ctx, timeout=10)
    c.request("GET", "/api/live?camera=%d" % cam, headers={"Cookie": "__Host-vg_session=" + client.cookie})
    r = c.getresponse()
    assert r.status == 200, r.read()
    data = b""
    end = time.time() + limit_s
    while len(data) < want and time.time() < end:
        chunk = r.read1(65536)
        if not chunk:
            break
        data += chunk
    c.close()
    return data


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("wire"))
    cam = Camera(tmp)
    srv = RunServer(demo=False)
    try:
        owner = KeyedMember("owner@example.com")
        c, owner = setup_org(srv, owner)
        st, me = c.call("GET", "/api/me")
        assert st == 200
        st, js = c.call("POST", "/api/cameras", {"name": "wire", "url": "rtsp://127.0.0.1:%d/cam1" % cam.port})
        assert st == 201, js
        cam_id = js["id"]
        cam_sk = PrivateKey.generate()
        sealed = SealedBox(owner.box_sk.public_key).encrypt(bytes(cam_sk))
        recovery = SealedBox(PrivateKey.generate().public_key).encrypt(bytes(cam_sk))
        st, js = c.call("PUT", "/api/cameras/%d/key" % cam_id,
                        {"footage_pk": b64(bytes(cam_sk.public_key)), "recovery_sealed_sk": b64(recovery),
                         "wrapped": [{"member_id": me["id"], "sealed_sk": b64(sealed)}]})
        assert st == 200, js
        yield dict(srv=srv, cam=cam, c=c, me=me, cam_id=cam_id, cam_sk=cam_sk, tmp=tmp,
                   org=bytes.fromhex(me["footage_org_id"]))
    finally:
        rc = srv.stop()
        cam.stop()
        srv.cleanup()
    assert rc == 0


def open_env(org, ckey, env):
    return crypto_aead_xchacha20poly1305_ietf_decrypt(env[nomedia.ENV_HDR:], org + env[:nomedia.ENV_HDR],
                                                      env[48:72], ckey)


@pytest.mark.timeout(150)
def test_nothing_served_or_stored_is_media(rig):
    srv, c, cam_id, cam_sk, org, tmp = (rig[k] for k in ("srv", "c", "cam_id", "cam_sk", "org", "tmp"))
    wins = nomedia.keyframe_windows("h264")
    problems, sizes = [], {}

    # ---- live: one streamed response, every byte of it ----
    deadline = time.time() + 20
    while time.time() < deadline:
        st, cams = c.call("GET", "/api/cameras")
        s = [x for x in cams["cameras"] if x["id"] == cam_id][0]["status"]
        if s["state"] == "recording" and s["bitrate"] > 0:
            break
        time.sleep(0.5)
    assert s["state"] == "recording", s
    live = read_live(srv, c, cam_id, LIVE_BYTES + 65536)
    sizes["live"] = len(live)
    recs, _ = parse_records(live)
    starts, off = [], 0
    plain_live, ckeys = [], {}
    for typ, _, p in recs:
        body = off + 9                              # u32 len, u8 type, u32 camera
        if typ == 1:                                # SEGMENT: id, sealed key, init envelope
            starts.append(body + 88 + nomedia.ENV_HDR)
            ckeys[struct.unpack(">Q", p[:8])[0]] = SealedBox(cam_sk).decrypt(p[8:88])
        elif typ == 2:                              # CHUNK: one envelope
            starts.append(body + nomedia.ENV_HDR)
            seg = struct.unpack(">Q", p[12:20])[0]
            if seg in ckeys:
                plain_live.append(open_env(org, ckeys[seg], p))
        off += 4 + struct.unpack(">I", live[off:off + 4])[0]
    assert len([r for r in recs if r[0] == 2]) > 50 and plain_live, "live stream carried no footage"
    problems += nomedia.check_not_media(live, "live stream", wins, tmp, starts)

    # ---- archive: what playback and export read (archive.js), and whole segments ----
    time.sleep(1)
    deadline = time.time() + 30
    while time.time() < deadline:
        st, rec = c.call("GET", "/api/cameras/%d/recordings" % cam_id)
        assert st == 200, rec
        closed = [s for s in rec["segments"] if s["status"] == "closed"]
        if sum(s["bytes"] for s in closed) >= 1536 * 1024:
            break
        time.sleep(1)
    assert closed, rec
    ranged, whole, plain_arch = b"", b"", []
    for s in rec["segments"]:
        st, meta = c.call("GET", "/api/segments/%d" % s["id"])
        assert st == 200, meta
        frags = sorted(meta["fragments"], key=lambda f: f["offset"])
        ckey = SealedBox(cam_sk).decrypt(unb64(meta["sealed_key"]))
        reads = [(0, nomedia.SEGHDR)]                           # header (signature check)
        i = 0
        while i < len(frags):                                   # init alone, then <= 4 MiB batches
            j, n = i + 1, frags[i]["length"]
            while frags[i]["seq"] > 0 and j < len(frags) and n + frags[j]["length"] <= BATCH_BYTES and \
                    frags[j]["offset"] == frags[j - 1]["offset"] + frags[j - 1]["length"]:
                n += frags[j]["length"]
                j += 1
            reads.append((frags[i]["offset"], n))
            i = j
        for a, n in reads:
            st, body = get(srv, c, "/api/segments/%d/data" % s["id"], "bytes=%d-%d" % (a, a + n - 1))
            assert st == 206 and len(body) == n, (st, len(body), n)
            envs, end = nomedia.envelope_starts(body)
            problems += nomedia.boxes_at(body, [0] + envs, "segment %d range %d+%d" % (s["id"], a, n))
            if a > 0:
                assert end == len(body), "range %d+%d is not whole envelopes" % (a, n)
                for e in envs:
                    ln = struct.unpack(">I", body[e - 4:e])[0]
                    plain_arch.append(open_env(org, ckey, body[e - nomedia.ENV_HDR:e + ln]))
            ranged += body
        if s["status"] == "closed":
            st, tr = get(srv, c, "/api/segments/%d/data" % s["id"], "bytes=-%d" % nomedia.TRAILER)
            assert st == 206 and tr[:4] == b"VGT\x01", (st, tr[:8])
            ranged += tr
            st, body = get(srv, c, "/api/segments/%d/data" % s["id"])
            assert st == 200
            envs, end = nomedia.envelope_starts(body, nomedia.SEGHDR)
            assert end == len(body) - nomedia.TRAILER
            problems += nomedia.boxes_at(body, envs, "segment %d whole" % s["id"])
            whole += body
    sizes["archive ranges"], sizes["whole segments"] = len(ranged), len(whole)
    problems += nomedia.check_not_media(ranged, "archive range reads", wins, tmp)
    problems += nomedia.check_not_media(whole, "whole segment reads", wins, tmp)

    # ---- at rest: the segment files, after vigil stops ----
    srv.proc.terminate()
    srv.proc.wait(30)
    data_dir = os.path.join(srv.dir, "data")
    disk = b""
    for root, _, names in os.walk(data_dir):
        for n in sorted(names):
            p = os.path.join(root, n)
            if re.search(r"\.(db|db-wal|db-shm|log|pub|key|json|conf|pem|crt)$|sqlite", n):
                continue
            with open(p, "rb") as f:
                d = f.read()
            if d[:8] != b"VIGILSEG":
                continue
            envs, _ = nomedia.envelope_starts(d, nomedia.SEGHDR)
            problems += nomedia.boxes_at(d, [0] + envs, "file " + os.path.relpath(p, data_dir))
            disk += d
    sizes["segment files"] = len(disk)
    problems += nomedia.check_not_media(disk, "segment files", wins, tmp)

    # ---- positive controls: the same bytes decrypted are the camera's footage ----
    plain = b"".join(plain_arch)
    assert nomedia.first_window(b"".join(plain_live), wins) is not None, "control: no keyframe in live plaintext"
    assert nomedia.first_window(plain, wins) is not None, "control: no keyframe in archive plaintext"
    assert nomedia.boxes_at(plain, [0], "control"), "control: archive plaintext is not MP4"
    streams = nomedia.ffprobe_streams(_write(os.path.join(tmp, "control.mp4"), plain))
    assert any(x.get("codec_name") == "h264" for x in streams), "control: ffprobe finds no H.264 in the plaintext"
    print("wire check sizes:", sizes, "entropy:",
          {k: round(nomedia.entropy(v), 5) for k, v in (("live", live), ("ranges", ranged), ("whole", whole),
                                                       ("disk", disk))})
    assert not problems, "\n".join(problems)
