# SPDX-License-Identifier: Apache-2.0
"""Alerts (docs/design/audit.md "Alerts") against `vigil run --demo` and a
real RTSP test camera: a local HTTPS receiver with its own CA gets each alert
(new admin, failed sign-in burst, export, camera recording lost and resumed)
with a valid HMAC-SHA256 signature within the deadline; a failed delivery is
retried; a receiver whose certificate the server does not trust gets nothing;
the in-app list has them with an unread count. Also: only https URLs, no
private addresses unless the deployment allows them, owners/admins only."""
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time

import pytest

from alert_receiver import Receiver, make_pki
from test_live import KeyedMember, RunServer, keyed_org
from vigil_web import Member, Server, b64, login, setup_org

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import clips  # noqa: E402

DEADLINE = 60   # generous; deliveries take seconds
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki"))
    ca, cert, key = make_pki(d, "good")
    _, rcert, rkey = make_pki(d, "rogue")
    good = Receiver(cert, key, fail_first=1)
    rogue = Receiver(rcert, rkey)
    saved = {k: os.environ.get(k) for k in ("VIGIL_WEBHOOK_CA_FILE", "VIGIL_WEBHOOK_ALLOW_PRIVATE",
                                            "VIGIL_ALERT_RECORDING_GRACE")}
    os.environ.update(VIGIL_WEBHOOK_CA_FILE=ca, VIGIL_WEBHOOK_ALLOW_PRIVATE="1", VIGIL_ALERT_RECORDING_GRACE="3")
    try:
        srv = RunServer()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    c, owner, me, demo, cam_sk = keyed_org(srv)
    yield {"srv": srv, "c": c, "owner": owner, "me": me, "demo": demo, "cam_sk": cam_sk, "good": good,
           "rogue": rogue, "dir": d}
    good.stop()
    rogue.stop()
    assert srv.stop() == 0, srv.stderr()
    srv.cleanup()


def deliveries(rec, secret, kind, since=0):
    """Valid signed deliveries of `kind` (each body once, by delivery id)."""
    out = {}
    for t, h, body in list(rec.requests):
        if t < since:
            continue
        mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert h.get("x-vigil-signature") == "sha256=" + mac, "bad signature"
        js = json.loads(body)
        assert h.get("x-vigil-delivery") == str(js["id"]) and h.get("content-type") == "application/json"
        if js["kind"] == kind:
            out[js["id"]] = (t, js)
    return list(out.values())


def wait_for(rec, secret, kind, since, pred=lambda js: True):
    deadline = time.time() + DEADLINE
    while time.time() < deadline:
        got = [x for x in deliveries(rec, secret, kind, since) if pred(x[1])]
        if got:
            return got[0]
        time.sleep(0.2)
    raise AssertionError("no %s alert within %d s; got %s" % (kind, DEADLINE,
                         [json.loads(b)["kind"] for _, _, b in rec.requests]))


@pytest.fixture(scope="module")
def hook(env):
    c = env["c"]
    assert c.call("PUT", "/api/alerts/webhook", {"url": "http://127.0.0.1:%d/x" % env["good"].port})[0] == 400
    assert c.call("PUT", "/api/alerts/webhook", {"url": "https://u:p@127.0.0.1/x"})[0] == 400
    st, js = c.call("PUT", "/api/alerts/webhook", {"url": env["good"].url()})
    assert st == 200 and len(js["secret"]) >= 43, js
    st, got = c.call("GET", "/api/alerts/webhook")
    assert st == 200 and got["url"] == env["good"].url() and "secret" not in got
    return js["secret"]


def test_export_alert_signed_and_retried(env, hook):
    t0 = time.time()
    st, _ = env["c"].call("POST", "/api/audit/export", {"camera_id": env["demo"], "from90k": 0, "to90k": 90000})
    assert st == 200
    t, js = wait_for(env["good"], hook, "export", t0)
    assert js["detail"]["action"] == "export" and js["detail"]["detail"]["camera"] == env["demo"]
    assert js["detail"]["actor"] == "owner@example.com"
    # The receiver refused its very first request (503): that delivery was retried after a backoff.
    first = json.loads(env["good"].requests[0][2])["id"]
    deadline = time.time() + DEADLINE
    while time.time() < deadline:
        tries = [t for t, _, b in env["good"].requests if json.loads(b)["id"] == first]
        if len(tries) >= 2:
            break
        time.sleep(0.2)
    assert len(tries) >= 2 and tries[1] - tries[0] >= 0.9, "no retry after a 503"
    print("export alert delivered %.1f s after the action" % (t - t0))


def test_new_admin_alert(env, hook):
    c = env["c"]
    t0 = time.time()
    st, inv = c.call("POST", "/api/members", {"email": "admin2@example.com", "role": "admin"})
    assert st == 201, inv
    m = Member("admin2@example.com")
    st, js = env["srv"].client().call("POST", "/api/setup/invite", dict(m.keys(), token=inv["token"]))
    assert st in (200, 201), js
    t, js = wait_for(env["good"], hook, "member.admin", t0)
    assert js["detail"]["actor"] == "admin2@example.com" and js["detail"]["detail"]["role"] == "admin"
    assert t - t0 < DEADLINE


def test_failed_signin_burst_alert(env, hook):
    t0 = time.time()
    owner = env["owner"]
    for _ in range(5):
        st = env["srv"].client().call("POST", "/api/login", {"email": owner.email, "auth_key": b64(os.urandom(32)),
                                                              "totp_code": "000000"})[0]
        assert st == 401
    t, js = wait_for(env["good"], hook, "login.failures", t0)
    assert js["detail"]["actor"] == owner.email
    # One alert for the burst, not one per failure.
    time.sleep(2)
    assert len(deliveries(env["good"], hook, "login.failures", t0)) == 1


def start_camera(port=0):
    argv = ["/usr/bin/python3",  # camera.py needs Debian's python3-gi
            os.path.join(HERE, "..", "integration", "camera.py"), "--clip", clips.clip_path("h264"),
            "--codec", "h264", "--max-seconds", "170", "--transport", "tcp"]
    if port:
        argv += ["--port", str(port)]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    m = re.search(r"READY port=(\d+)", line)
    assert m, "camera did not start: %r" % line
    return p, int(m.group(1))


def cam_state(c, cam):
    st, js = c.call("GET", "/api/cameras")
    return [x for x in js["cameras"] if x["id"] == cam][0]["status"]["state"]


def test_camera_recording_lost_and_resumed(env, hook):
    from nacl.public import PrivateKey, SealedBox
    c, me, owner = env["c"], env["me"], env["owner"]
    cam_proc, port = start_camera()
    try:
        st, js = c.call("POST", "/api/cameras", {"name": "Gate", "url": "rtsp://127.0.0.1:%d/cam1" % port})
        assert st == 201, js
        cam = js["id"]
        sk = PrivateKey.generate()
        st, js = c.call("PUT", "/api/cameras/%d/key" % cam, {
            "footage_pk": b64(bytes(sk.public_key)),
            "recovery_sealed_sk": b64(SealedBox(PrivateKey.generate().public_key).encrypt(bytes(sk))),
            "wrapped": [{"member_id": me["id"], "sealed_sk": b64(SealedBox(owner.box_sk.public_key).encrypt(bytes(sk)))}]})
        assert st == 200, js
        deadline = time.time() + 30
        while time.time() < deadline and cam_state(c, cam) != "recording":
            time.sleep(0.3)
        assert cam_state(c, cam) == "recording"
        time.sleep(2.5)   # the watch samples once a second: let it see the camera recording
        t0 = time.time()
        cam_proc.terminate()
        cam_proc.wait(10)
        t, js = wait_for(env["good"], hook, "camera.recording_lost", t0, lambda j: j["detail"]["camera"] == cam)
        assert js["detail"]["name"] == "Gate" and t - t0 >= 3   # the grace (3 s here) is respected
        print("recording-lost alert %.1f s after the camera died (grace 3 s)" % (t - t0))
        time.sleep(2)
        assert len(deliveries(env["good"], hook, "camera.recording_lost", t0)) == 1, "one alert per transition"
        t1 = time.time()
        cam_proc, _ = start_camera(port)
        wait_for(env["good"], hook, "camera.recording_resumed", t1, lambda j: j["detail"]["camera"] == cam)
    finally:
        cam_proc.terminate()
        cam_proc.wait(10)


def test_in_app_notifications(env, hook):
    c = env["c"]
    st, js = c.call("GET", "/api/notifications")
    assert st == 200
    kinds = {n["kind"] for n in js["notifications"]}
    assert {"export", "member.admin", "login.failures"} <= kinds, kinds
    assert js["unread"] == sum(1 for n in js["notifications"] if n["unread"]) and js["unread"] >= 3
    assert any(n["webhook"] == "delivered" for n in js["notifications"])
    top = max(n["id"] for n in js["notifications"])
    # Marking "read" past the newest alert does not pre-read future ones.
    assert c.call("POST", "/api/notifications/read", {"up_to": top + 1000})[0] == 200
    assert c.call("POST", "/api/notifications/read", {"up_to": "x"})[0] == 400
    st, js = c.call("GET", "/api/notifications")
    assert js["unread"] == 0 and not any(n["unread"] for n in js["notifications"])
    assert c.call("POST", "/api/audit/export", {"camera_id": env["demo"], "from90k": 0, "to90k": 90000})[0] == 200
    st, js = c.call("GET", "/api/notifications")
    assert js["unread"] == 1 and js["notifications"][0]["unread"] and js["notifications"][0]["kind"] == "export"
    assert env["srv"].client().call("GET", "/api/notifications")[0] == 401
    # The webhook setting is audited, never with the secret.
    st, audit = c.call("GET", "/api/audit")
    sets = [e for e in audit["entries"] if e["action"] == "webhook.set"]
    assert sets and all(hook not in json.dumps(e) for e in audit["entries"])


def test_untrusted_receiver_gets_nothing(env, hook):
    c = env["c"]
    st, js = c.call("PUT", "/api/alerts/webhook", {"url": env["rogue"].url()})
    assert st == 200
    t0 = time.time()
    st, _ = c.call("POST", "/api/audit/export", {"camera_id": env["demo"], "from90k": 0, "to90k": 90000})
    assert st == 200
    time.sleep(5)
    assert env["rogue"].requests == [], "a receiver with an untrusted certificate got an alert"
    st, js = c.call("GET", "/api/notifications")
    newest = [n for n in js["notifications"] if n["kind"] == "export" and n["ts_ms"] >= (t0 - 1) * 1000]
    assert newest and newest[0]["webhook"] in ("queued", "failed"), newest


def test_webhook_url_rules_without_private_addresses():
    srv = Server()
    try:
        c, _ = setup_org(srv)
        for bad in ("https://127.0.0.1:8443/h", "https://localhost/h", "https://10.0.0.5/h",
                    "https://169.254.169.254/latest", "https://[::1]/h", "http://hooks.example.com/h", "hooks.example.com"):
            st, js = c.call("PUT", "/api/alerts/webhook", {"url": bad})
            assert st == 400 and js["error"] == "bad_url", bad
        st, js = c.call("PUT", "/api/alerts/webhook", {"url": "https://hooks.example.com/vigil"})
        assert st == 200 and js["signature_header"] == "X-Vigil-Signature"
        assert c.call("DELETE", "/api/alerts/webhook")[0] == 200
        assert c.call("GET", "/api/alerts/webhook")[1]["url"] is None
    finally:
        assert srv.stop() == 0, srv.stderr()
        srv.cleanup()
