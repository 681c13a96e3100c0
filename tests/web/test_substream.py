# SPDX-License-Identifier: Apache-2.0
"""Camera substreams (docs/design/recorder.md "Substreams", design/live.md):
the `sub_url` field of the camera API (validated like `url`, credentials never
echoed), recording of a real RTSP camera's main and substream under the same
footage key with the row's credentials, the demo camera's substream, and the
live `stream=` selector. Against `vigil run` with real gst-rtsp-server cameras
(tests/web/multicam.py, digest auth)."""
import json
import os
import re
import subprocess
import time

import pytest
from nacl.public import PrivateKey, SealedBox

from test_live import keyed_org, open_envelope, parse_records, served_run, stream, unb64
from vigil_web import ROOT, b64

PY = "/usr/bin/python3"
MAIN = os.path.join(ROOT, "assets", "demo.mp4")       # 640x360
SUB = os.path.join(ROOT, "assets", "demo-sub.mp4")    # 320x180
USER, PASSWORD = "viewer7", "Sub$tream-Pw9"


@pytest.fixture(scope="module")
def cams():
    log = open(os.path.join(ROOT, "build", "multicam-api.log"), "w") if os.path.isdir(os.path.join(ROOT, "build")) \
        else subprocess.DEVNULL
    p = subprocess.Popen([PY, os.path.join(ROOT, "tests", "web", "multicam.py"), "--main", MAIN, "--sub", SUB,
                          "--cameras", "1", "--user", USER, "--password", PASSWORD, "--max-seconds", "240"],
                         stdout=subprocess.PIPE, stderr=log, text=True)
    line = p.stdout.readline()
    m = re.match(r"READY port=(\d+)", line)
    assert m, line
    yield int(m.group(1))
    p.terminate()
    p.wait(10)


srv = pytest.fixture(served_run, scope="module", name="srv")


@pytest.fixture(scope="module")
def org(srv):
    return keyed_org(srv)


def cam_row(c, cid):
    st, cams = c.call("GET", "/api/cameras")
    assert st == 200
    return [x for x in cams["cameras"] if x["id"] == cid][0]


def test_sub_url_validation(srv, org):
    c = org[0]
    good = {"name": "Yard", "url": "rtsp://10.0.0.9/main"}
    for bad in ["http://10.0.0.9/sub", "rtsp://admin:pw@10.0.0.9/sub", "rtsp://10.0.0.9/s ub", "rtsp://",
                "rtsp://10.0.0.9/" + "a" * 1100, 5, True, ["rtsp://10.0.0.9/sub"], "rtsp://10.0.0.9/\u00e9"]:
        st, js = c.call("POST", "/api/cameras", dict(good, sub_url=bad))
        assert st == 400 and js == {"error": "bad_input"}, (bad, st, js)
    st, js = c.call("POST", "/api/cameras", dict(good, sub_url="rtsp://10.0.0.9/sub", username="admin",
                                                 password="Yard-Pw!"))
    assert st == 201, js
    cid = js["id"]
    row = cam_row(c, cid)
    assert row["sub_url"] == "rtsp://10.0.0.9/sub" and row["has_credentials"] is True
    # PATCH: validated the same way; omitted keeps it; "" and null clear it.
    st, _ = c.call("PATCH", "/api/cameras/%d" % cid, {"sub_url": "rtsp://u:p@10.0.0.9/sub"})
    assert st == 400
    st, _ = c.call("PATCH", "/api/cameras/%d" % cid, {"name": "Yard 2"})
    assert st == 200 and cam_row(c, cid)["sub_url"] == "rtsp://10.0.0.9/sub"
    st, _ = c.call("PATCH", "/api/cameras/%d" % cid, {"sub_url": "rtsps://10.0.0.9:322/sub2"})
    assert st == 200 and cam_row(c, cid)["sub_url"] == "rtsps://10.0.0.9:322/sub2"
    st, _ = c.call("PATCH", "/api/cameras/%d" % cid, {"sub_url": ""})
    assert st == 200 and cam_row(c, cid)["sub_url"] is None
    st, _ = c.call("PATCH", "/api/cameras/%d" % cid, {"sub_url": "rtsp://10.0.0.9/sub"})
    st, _ = c.call("PATCH", "/api/cameras/%d" % cid, {"sub_url": None})
    assert st == 200 and cam_row(c, cid)["sub_url"] is None
    # The audit says which field changed, never a value.
    st, audit = c.call("GET", "/api/audit")
    edits = [e for e in audit["entries"] if e["action"] == "camera.edit" and e["detail"]["id"] == cid]
    assert any("sub_url" in e["detail"]["changed"] for e in edits)
    assert "Yard-Pw!" not in json.dumps(audit)
    # The builtin demo camera's streams are not re-pointed.
    demo = org[3]
    st, js = c.call("PATCH", "/api/cameras/%d" % demo, {"sub_url": "rtsp://10.0.0.9/sub"})
    assert st == 403 and js == {"error": "builtin"}
    st, _ = c.call("DELETE", "/api/cameras/%d" % cid)
    assert st == 200


def test_demo_substream(srv, org):
    c, _, me, demo, cam_sk = org
    deadline = time.time() + 15
    while time.time() < deadline:
        row = cam_row(c, demo)
        if row["sub_status"] and row["sub_status"]["state"] == "recording" and row["sub_status"]["width"]:
            break
        time.sleep(0.5)
    assert row["sub_status"]["width"] == 320 and row["sub_status"]["height"] == 180, row
    assert row["status"]["width"] == 640 and row["sub_url"] is None, row
    st, body = stream(srv, c, "/api/live?camera=%d&stream=hd" % demo, 1)
    assert st == 400 and json.loads(body) == {"error": "bad_stream"}


def wait_recording(c, cid, timeout=25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        row = cam_row(c, cid)
        s, ss = row["status"], row["sub_status"]
        if s["state"] == "recording" and s["width"] and ss and ss["state"] == "recording" and ss["width"]:
            return row
        time.sleep(0.5)
    raise AssertionError(row)


def live_streams(srv, c, cid, org_id, cam_sk, which):
    """Reads /api/live for `which`; returns (STATE json, init plaintexts)."""
    path = "/api/live?camera=%d" % cid + ("&stream=%s" % which if which else "")
    st, data = stream(srv, c, path, 4)
    assert st == 200, data
    recs, _ = parse_records(data)
    states = [json.loads(p) for t, cam, p in recs if t == 3 and cam == cid]
    inits = []
    for t, cam, p in recs:
        if t == 1 and cam == cid:
            ckey = SealedBox(cam_sk).decrypt(p[8:88])      # the camera's own footage key opens it
            inits.append(open_envelope(org_id, ckey, p[88:])[1])
    return states, inits


def avc_size(init):
    """width, height from an fMP4 init segment's tkhd (16.16 fixed point)."""
    i = init.find(b"tkhd")
    box = init[i - 4:]
    ver = box[8]
    off = 8 + 4 + (32 if ver == 1 else 20) + 52
    return int.from_bytes(box[off:off + 4], "big") >> 16, int.from_bytes(box[off + 4:off + 8], "big") >> 16


def test_rtsp_camera_main_and_sub(srv, org, cams):
    c, owner, me, _, _ = org
    org_id = bytes.fromhex(me["footage_org_id"])
    base = "rtsp://127.0.0.1:%d/cam1/" % cams
    st, js = c.call("POST", "/api/cameras", {"name": "Gate", "url": base + "main", "sub_url": base + "sub",
                                             "username": USER, "password": PASSWORD})
    assert st == 201, js
    cid = js["id"]
    # The substream is guarded like its camera: no key wrapped to the caller -> 403 (audited),
    # another organization's or no camera -> 404.
    st, body = stream(srv, c, "/api/live?camera=%d&stream=sub" % cid, 1)
    assert st == 403 and json.loads(body) == {"error": "no_key"}, body
    st, body = stream(srv, c, "/api/live?camera=%d&stream=sub" % (cid + 1000), 1)
    assert st == 404, body
    cam_sk = PrivateKey.generate()
    st, js = c.call("PUT", "/api/cameras/%d/key" % cid, {
        "footage_pk": b64(bytes(cam_sk.public_key)),
        "recovery_sealed_sk": b64(SealedBox(PrivateKey.generate().public_key).encrypt(bytes(cam_sk))),
        "wrapped": [{"member_id": me["id"], "sealed_sk": b64(SealedBox(owner.box_sk.public_key).encrypt(bytes(cam_sk)))}]})
    assert st == 200, js
    # Both streams record: the substream reached the server with the row's credentials (digest auth).
    row = wait_recording(c, cid)
    assert (row["status"]["width"], row["sub_status"]["width"], row["sub_status"]["height"]) == (640, 320, 180), row
    st, _, _, raw = c.raw("GET", "/api/cameras")
    assert PASSWORD.encode() not in raw and USER.encode() not in raw
    # Live: stream=sub gives the substream, default and stream=main the main stream, each sealed
    # to the camera's one footage key.
    states, inits = live_streams(srv, c, cid, org_id, cam_sk, "sub")
    assert states and states[0]["stream"] == "sub" and inits and avc_size(inits[0]) == (320, 180), states
    for which in (None, "main"):
        states, inits = live_streams(srv, c, cid, org_id, cam_sk, which)
        assert states[0]["stream"] == "main" and avc_size(inits[0]) == (640, 360)
    st, audit = c.call("GET", "/api/audit")
    views = [e["detail"] for e in audit["entries"] if e["action"] == "live.view" and e["detail"]["camera"] == cid]
    assert {"camera": cid, "stream": "sub"} in views and {"camera": cid, "stream": "main"} in views
    # Removing the substream stops recording it; the main stream goes on.
    st, _ = c.call("PATCH", "/api/cameras/%d" % cid, {"sub_url": ""})
    assert st == 200
    row = cam_row(c, cid)
    assert row["sub_status"] is None and row["sub_url"] is None
    states, _ = live_streams(srv, c, cid, org_id, cam_sk, "sub")
    assert states[0]["stream"] == "main"      # the grid falls back to the main stream
    st, _ = c.call("DELETE", "/api/cameras/%d" % cid)
    assert st == 200
    assert PASSWORD not in srv.stderr()


def test_cli_sub_inherits_credentials(cams, tmp_path):
    """`vigil run --camera NAME=URL --sub NAME=URL`: the substream is recorded as NAME.sub;
    without user:pass@ it takes the camera's credentials (the server requires digest auth)."""
    from vigil_web import VIGIL, sanitizer_env
    key = str(tmp_path / "k")
    subprocess.run([VIGIL, "keys", "new", "--out", key], check=True, capture_output=True)
    data = str(tmp_path / "d")
    main = "rtsp://%s:%s@127.0.0.1:%d/cam1/main" % (USER, PASSWORD, cams)
    sub = "rtsp://127.0.0.1:%d/cam1/sub" % cams
    # refusals first: a substream of no camera, --demo with --no-demo
    for extra in (["--sub", "other=" + sub], ["--sub", "gate"], ["--demo", "--no-demo"]):
        r = subprocess.run([VIGIL, "run", "--data", data, "--camera-key", key + ".pub", "--no-web", "--camera",
                            "gate=" + main] + extra, capture_output=True, text=True, timeout=20, env=sanitizer_env())
        assert r.returncode != 0, (extra, r.stderr)
    log = open(str(tmp_path / "run.log"), "w")
    p = subprocess.Popen([VIGIL, "run", "--data", data, "--camera-key", key + ".pub", "--no-web",
                          "--camera", "gate=" + main, "--sub", "gate=" + sub], stdout=log, stderr=log,
                         env=sanitizer_env())
    try:
        deadline = time.time() + 20
        got = {}
        while time.time() < deadline:
            time.sleep(1)
            r = subprocess.run([VIGIL, "status", "--data", data, "--json"], capture_output=True, text=True,
                               timeout=20)
            if r.returncode == 0:
                got = {c["name"]: c for c in json.loads(r.stdout)["cameras"]}
                if all(got.get(n, {}).get("fragments", 0) >= 2 for n in ("gate", "gate.sub")):
                    break
        assert all(got.get(n, {}).get("fragments", 0) >= 2 for n in ("gate", "gate.sub")), got
    finally:
        p.terminate()
        assert p.wait(30) == 0
        log.close()
    text = open(str(tmp_path / "run.log")).read()
    assert PASSWORD not in text and "ERROR: AddressSanitizer" not in text and "runtime error" not in text, text[-3000:]
    assert "gate.sub: video H.264 320x180" in text, text[-3000:]


def _serve_once(data):
    """Starts `vigil serve` on DATA until it listens (the schema is applied at open), then stops it."""
    from vigil_web import VIGIL, assert_sanitizer_clean, free_port, sanitizer_env
    p = subprocess.Popen([VIGIL, "serve", "--data", data, "--listen", "127.0.0.1:%d" % free_port(), "--ui",
                          os.path.join(ROOT, "ui")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=sanitizer_env())
    out = b""
    deadline = time.time() + 20
    while time.time() < deadline and b"listening on" not in out:
        out += p.stdout.read1(4096)
    p.terminate()
    out += p.stdout.read()
    assert p.wait(20) == 0 and b"listening on" in out, out[-2000:]
    assert_sanitizer_clean(out.decode(errors="replace"))


def test_schema_v5_migration(tmp_path):
    """A database from before substreams (no sub_url, schema version 4) is upgraded at open."""
    import sqlite3
    data = str(tmp_path / "data")
    _serve_once(data)
    db = os.path.join(data, "app.db")
    h = sqlite3.connect(db)
    latest = h.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()[0]
    assert int(latest) >= 5
    h.execute("INSERT INTO organizations(name, created, uid) VALUES('o', 0, x'00112233445566778899aabbccddeeff')")
    h.execute("INSERT INTO cameras(org_id, name, url, created) VALUES(1, 'old', 'rtsp://10.0.0.1/a', 0)")
    h.execute("ALTER TABLE cameras DROP COLUMN sub_url")
    h.execute("UPDATE meta SET v = '4' WHERE k = 'schema_version'")
    h.commit()
    h.close()
    _serve_once(data)
    h = sqlite3.connect(db)
    assert h.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()[0] == latest
    assert h.execute("SELECT name, sub_url FROM cameras").fetchall() == [("old", None)]
    h.close()


def test_cli_urls_file_with_sub(cams, tmp_path):
    """`--urls FILE`: a second URL on a line is that camera's substream (credentials inherited)."""
    from vigil_web import VIGIL, sanitizer_env
    key = str(tmp_path / "k")
    subprocess.run([VIGIL, "keys", "new", "--out", key], check=True, capture_output=True)
    urls = tmp_path / "urls.txt"
    urls.write_text("# main and sub\nrtsp://%s:%s@127.0.0.1:%d/cam1/main   rtsp://127.0.0.1:%d/cam1/sub\n"
                    % (USER, PASSWORD, cams, cams))
    data = str(tmp_path / "d")
    log = open(str(tmp_path / "run.log"), "w")
    p = subprocess.Popen([VIGIL, "run", "--data", data, "--camera-key", key + ".pub", "--no-web", "--urls",
                          str(urls)], stdout=log, stderr=log, env=sanitizer_env())
    got = {}
    try:
        deadline = time.time() + 20
        while time.time() < deadline and not all(got.get(n, {}).get("fragments", 0) >= 2 for n in ("main", "main.sub")):
            time.sleep(1)
            r = subprocess.run([VIGIL, "status", "--data", data, "--json"], capture_output=True, text=True, timeout=20)
            if r.returncode == 0:
                got = {c["name"]: c for c in json.loads(r.stdout)["cameras"]}
    finally:
        p.terminate()
        assert p.wait(30) == 0
        log.close()
    assert all(got.get(n, {}).get("fragments", 0) >= 2 for n in ("main", "main.sub")), got
    text = open(str(tmp_path / "run.log")).read()
    assert PASSWORD not in text and "runtime error" not in text and "ERROR: AddressSanitizer" not in text
