# SPDX-License-Identifier: Apache-2.0
"""Self-tests of the test tooling (camera, relay, garbage server), with ffmpeg and a tiny
RTSP client as the peer. They need no vigil: if these fail, the vigil tests mean nothing."""
import os
import subprocess

import pytest

import rtsp_client
import vstream
from conftest import assert_plays


def ffmpeg_pull(url, out, seconds=3, transport="tcp"):
    subprocess.run(["ffmpeg", "-v", "error", "-rtsp_transport", transport, "-i", url,
                    "-c", "copy", "-t", str(seconds), "-y", out],
                   check=True, timeout=30, capture_output=True)


@pytest.mark.parametrize("kind,transport,auth", [
    ("h264", "tcp", "digest"), ("h264", "udp", "basic"), ("h265", "tcp", "none")])
def test_camera_serves_marked_frames(camera, art, kind, transport, auth):
    cam = camera(kind, transport=transport, auth=auth, password="pw" if auth != "none" else "")
    out = os.path.join(art, "pull.mp4")
    ffmpeg_pull(cam.url(), out, transport=transport)
    assert_plays(out, kind)
    marks = vstream.markers(out, kind)
    idx = [i for _, i in marks]
    # The session's frames from index 0 (a keyframe, pushed at DESCRIBE, delivered after
    # PLAY) arrive complete and in order: the basis of the exact frame checks.
    assert idx == list(range(len(idx))) and len(idx) >= 55, idx
    log = cam.framelog()
    assert log.session_frames(marks[0][0])[0].key


def test_camera_rejects_bad_password(camera):
    cam = camera("h264", auth="digest", password="right")
    r = subprocess.run(["ffprobe", "-v", "error", cam.url(password="wrong")],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "401" in r.stderr


def test_camera_audio(camera, art):
    cam = camera("h264", audio=True)
    out = os.path.join(art, "pull.mp4")
    ffmpeg_pull(cam.url(), out, seconds=4)
    info = assert_plays(out, "h264")
    kinds = {s["codec_type"]: s for s in info["streams"]}
    assert kinds["audio"]["codec_name"] == "aac"
    # Video paced at 20 fps even with a live audio branch in the same pipeline.
    assert 75 <= int(kinds["video"]["nb_read_packets"]) <= 85, info


def rtp_frames(pkts):
    """(arrival, rtp ts) of each access unit's last packet (marker bit)."""
    return [(p[0], p[2]) for p in pkts if p[3]]


def test_camera_ts_jump_and_stall(camera):
    cam = camera("h264", ts_jump_at=1.0, ts_jump_seconds=3600, stall_at=2.5, stall_for=1.5)
    c = rtsp_client.RtspClient(cam.url())
    try:
        c.start("tcp")
        aus = rtp_frames(c.collect(4.5))
    finally:
        c.close()
    steps = [(b[0] - a[0], (b[1] - a[1]) % (1 << 32)) for a, b in zip(aus, aus[1:])]
    # One jump of an hour (+ one frame) in RTP time while wall time moves one frame...
    assert [d for _, d in steps if d > 10**6] == [3600 * 90000 + 4500], steps
    # ...and one stall: >1 s of silence, after which the RTP clock has run on in real time.
    stalls = [(w, d) for w, d in steps if w > 1.0]
    assert len(stalls) == 1 and abs(stalls[0][1] / 90000 - stalls[0][0]) < 0.2, stalls
    assert all(d == 4500 for w, d in steps if w <= 1.0 and d < 10**6)


def test_relay_impairs_udp_only(camera, relay):
    cam = camera("h264")
    rel = relay(cam.port, loss=0.05, reorder=0.05, seed=7)
    c = rtsp_client.RtspClient("rtsp://127.0.0.1:%d/cam1" % rel.port)
    try:
        c.start("udp")
        assert "server_port" in c.transport_reply
        seqs = [p[1] for p in c.collect(3)]
    finally:
        c.close()
    missing = (max(seqs) - min(seqs) + 1) - len(set(seqs))
    inversions = sum(1 for a, b in zip(seqs, seqs[1:]) if b < a)
    assert len(seqs) > 300 and missing > 3 and inversions > 3, (len(seqs), missing, inversions)
    # Interleaved TCP passes through intact.
    c = rtsp_client.RtspClient("rtsp://127.0.0.1:%d/cam1" % rel.port)
    try:
        c.start("tcp")
        seqs = [p[1] for p in c.collect(2)]
    finally:
        c.close()
    assert len(seqs) > 200 and (max(seqs) - min(seqs) + 1) == len(seqs)


@pytest.mark.parametrize("mode,expect", [
    ("garbage", None), ("truncated", "Invalid data"), ("huge-length", "Invalid data"),
    ("bad-sdp", None), ("no-media", "455"), ("close", "Invalid data")])
def test_garbage_server_modes(garbage, mode, expect):
    g = garbage(mode)
    r = subprocess.run(["ffprobe", "-v", "error", "-timeout", "2000000",
                        "rtsp://127.0.0.1:%d/cam1" % g.port],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    if expect:
        assert expect in r.stderr, r.stderr
    assert "CONN" in open(g.log).read()
