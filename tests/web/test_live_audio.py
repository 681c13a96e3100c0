# SPDX-License-Identifier: Apache-2.0
"""Live audio on the wire (docs/design/live.md "CHUNK", "Latency"): a camera with an AAC
track (bench/latency/tccam.py --audio, real gst-rtsp-server) recorded by `vigil run`; the test
plays the browser (footage key made here, /api/live read and decrypted). Each AAC frame comes
as its own live chunk: one sample of the init segment's audio track, never flagged key (no
viewer may start on one), in time order, interleaved with the video frames as they arrive."""
import os
import struct
import subprocess
import time

import pytest
from nacl.public import PrivateKey, SealedBox

from test_live import F_KEY, F_LIVE, KeyedMember, open_envelope, parse_records, served_run, stream
from vigil_web import ROOT, b64, setup_org

TCCAM = os.path.join(ROOT, "bench", "latency", "tccam.py")


def walk(b, start=0, end=None):
    end = len(b) if end is None else end
    while start + 8 <= end:
        size, typ = struct.unpack(">I4s", b[start:start + 8])
        assert 8 <= size <= end - start, (typ, size)
        yield typ.decode(), start + 8, start + size
        start += size


def child(b, path, start=0, end=None):
    for t, body, e in walk(b, start, end):
        if t == path[0]:
            return (body, e) if len(path) == 1 else child(b, path[1:], body, e)
    return None


def init_tracks(init):
    """{track_id: handler} of an init segment."""
    moov = child(init, ["moov"])
    out = {}
    for t, body, e in walk(init, *moov):
        if t == "trak":
            tk = child(init, ["tkhd"], body, e)
            v = init[tk[0]]
            tid = struct.unpack(">I", init[tk[0] + (20 if v == 1 else 12):][:4])[0]
            hd = child(init, ["mdia", "hdlr"], body, e)
            out[tid] = init[hd[0] + 8:hd[0] + 12].decode()
    return out


def chunk_tracks(frag):
    """[(track_id, sample_count)] of a moof+mdat."""
    moof = child(frag, ["moof"])
    out = []
    for t, body, e in walk(frag, *moof):
        if t == "traf":
            tf = child(frag, ["tfhd"], body, e)
            tr = child(frag, ["trun"], body, e)
            out.append((struct.unpack(">I", frag[tf[0] + 4:tf[0] + 8])[0],
                        struct.unpack(">I", frag[tr[0] + 4:tr[0] + 8])[0]))
    return out


@pytest.fixture(scope="module")
def cam():
    p = subprocess.Popen(["/usr/bin/python3", TCCAM, "--audio", "--max-seconds", "120"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    line = p.stdout.readline()
    assert line.startswith("READY port="), line
    yield "rtsp://127.0.0.1:%s/tc" % line.split("=")[1].strip()
    p.terminate()
    p.wait(10)


srv = pytest.fixture(served_run, scope="module", name="srv")


def test_live_audio_chunks(srv, cam):
    owner = KeyedMember("owner@example.com")
    c, owner = setup_org(srv, owner)
    st, me = c.call("GET", "/api/me")
    org_id = bytes.fromhex(me["footage_org_id"])
    st, js = c.call("POST", "/api/cameras", {"name": "With sound", "url": cam})
    assert st == 201, js
    cid = js["id"]
    cam_sk = PrivateKey.generate()
    st, js = c.call("PUT", "/api/cameras/%d/key" % cid,
                    {"footage_pk": b64(bytes(cam_sk.public_key)),
                     "recovery_sealed_sk": b64(SealedBox(PrivateKey.generate().public_key).encrypt(bytes(cam_sk))),
                     "wrapped": [{"member_id": me["id"], "sealed_sk": b64(SealedBox(owner.box_sk.public_key).encrypt(bytes(cam_sk)))}]})
    assert st == 200, js
    deadline = time.time() + 30
    while time.time() < deadline:
        st, cams = c.call("GET", "/api/cameras")
        s = [x for x in cams["cameras"] if x["id"] == cid][0]["status"]
        if s["state"] == "recording" and s.get("audio"):
            break
        time.sleep(0.5)
    assert s["state"] == "recording" and s["audio"], s
    time.sleep(2.5)   # a whole segment sealed to the camera's key

    st, data = stream(srv, c, "/api/live?camera=%d" % cid, 4)
    assert st == 200, data
    recs, _ = parse_records(data)
    ckeys, tracks, chunks = {}, {}, []
    for typ, rcam, p in recs:
        assert rcam == cid
        if typ == 1:
            seg = struct.unpack(">Q", p[:8])[0]
            ckeys[seg] = SealedBox(cam_sk).decrypt(p[8:88])
            flags, init = open_envelope(org_id, ckeys[seg], p[88:])
            tracks = init_tracks(init)
        elif typ == 2:
            seg = struct.unpack(">Q", p[12:20])[0]
            flags, plain = open_envelope(org_id, ckeys[seg], p)
            chunks.append((flags, struct.unpack(">q", p[36:44])[0], chunk_tracks(plain)))
    assert sorted(tracks.values()) == ["soun", "vide"], tracks
    audio_id = [k for k, v in tracks.items() if v == "soun"][0]
    video_id = [k for k, v in tracks.items() if v == "vide"][0]
    assert chunks and chunks[0][0] & F_KEY and chunks[0][2][0][0] == video_id, chunks[:2]   # starts at a keyframe
    live = [ch for ch in chunks if ch[0] & F_LIVE]
    audio = [ch for ch in live if ch[2] == [(audio_id, 1)]]
    video = [ch for ch in live if ch[2] == [(video_id, 1)]]
    assert len(audio) + len(video) == len(live), [ch[2] for ch in live][:20]   # one sample of one track each
    assert len(audio) >= 25 and len(video) >= 60, (len(audio), len(video))    # 15.6 and 30 per second
    assert not any(f & F_KEY for f, _, _ in audio)
    ts = [t for _, t, _ in audio]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)
    # Interleaved as they arrive: audio is not held back for a later video frame in a batch.
    kinds = "".join("a" if ch in audio else "v" for ch in live)
    assert "vav" in kinds or "ava" in kinds, kinds[:80]
    # Audio and video share the timeline (within a second: audio joins at arrival).
    vts = [t for _, t, _ in video]
    assert abs(ts[0] - vts[0]) < 90000 and abs(ts[-1] - vts[-1]) < 90000, (ts[0], vts[0], ts[-1], vts[-1])
