# SPDX-License-Identifier: Apache-2.0
"""Integration tests of the web API against the real binary (`vigil serve`):
authentication on every route, Origin checks, setup token, login with TOTP,
throttling, static-file whitelist, hostile parameters, write-only camera
credentials, audit chain. Run: python3 -m pytest -q tests/web"""
import json
import os

import pytest

from vigil_web import Member, Server, b64, fingerprint, login, setup_org, totp

# Every API route (method, path); docs/api.md lists the same set.
PRIVATE = [
    ("POST", "/api/logout"), ("GET", "/api/me"), ("GET", "/api/members"), ("POST", "/api/members"),
    ("DELETE", "/api/members/1"), ("GET", "/api/sites"), ("POST", "/api/sites"), ("GET", "/api/cameras"),
    ("POST", "/api/cameras"), ("PATCH", "/api/cameras/1"), ("DELETE", "/api/cameras/1"), ("GET", "/api/audit"),
    ("GET", "/api/nonexistent"), ("GET", "/api/cameras/1"),
    # camera keys, playback, live, export (docs/design/live.md)
    ("PUT", "/api/cameras/1/key"), ("GET", "/api/cameras/1/key"), ("POST", "/api/cameras/1/key/wrap"),
    ("GET", "/api/cameras/1/recordings"), ("GET", "/api/segments/1"), ("GET", "/api/segments/1/data"),
    ("GET", "/api/live?camera=1"), ("POST", "/api/audit/export"),
    # verifiable audit log and alerts (docs/design/audit.md)
    ("GET", "/api/audit/sth"), ("GET", "/api/audit/proof/inclusion?seq=1"),
    ("GET", "/api/audit/proof/consistency?first=1"), ("GET", "/api/audit/log"), ("GET", "/api/notifications"),
    ("POST", "/api/notifications/read"), ("GET", "/api/alerts/webhook"), ("PUT", "/api/alerts/webhook"),
    ("DELETE", "/api/alerts/webhook"),
]


@pytest.fixture(scope="module")
def srv():
    s = Server()
    yield s
    assert s.stop() == 0, s.stderr()
    assert "ERROR: AddressSanitizer" not in s.stderr()
    s.cleanup()


@pytest.fixture(scope="module")
def org(srv):
    c, owner = setup_org(srv)
    return c, owner


def test_setup_link_printed_not_logged(srv):
    assert srv.setup_token
    log = open(os.path.join(srv.dir, "data", "vigil.log")).read()
    assert srv.setup_token not in log
    assert "setup=" not in log


def test_tls_key_private(srv):
    st = os.stat(os.path.join(srv.dir, "data", "tls", "key.pem"))
    assert st.st_mode & 0o077 == 0
    assert os.stat(os.path.join(srv.dir, "data", "secret.key")).st_mode & 0o077 == 0


def test_every_route_needs_session(srv):
    c = srv.client()
    for method, path in PRIVATE:
        body = {} if method in ("POST", "PATCH", "PUT") else None
        st, js = c.call(method, path, body)
        assert st == 401, (method, path, st, js)
    # A forged cookie is no better.
    c.cookie = b64(os.urandom(32))
    for method, path in PRIVATE:
        st, _ = c.call(method, path, {} if method in ("POST", "PATCH", "PUT") else None)
        assert st == 401, (method, path, st)


def test_cross_origin_post_forbidden_without_session(srv):
    c = srv.client()
    for origin in ("https://evil.example", None, "null", srv.origin + ".evil", "http://127.0.0.1:%d" % srv.port):
        for method, path in [("POST", "/api/login"), ("POST", "/api/setup"), ("POST", "/api/cameras"),
                             ("DELETE", "/api/cameras/1"), ("PATCH", "/api/cameras/1")]:
            st, js, _, _ = c.raw(method, path, {}, origin=origin if origin else False)
            assert st == 403, (origin, method, path, st)


def test_wrong_host_refused(srv):
    c = srv.client()
    st, _, _, _ = c.raw("GET", "/", headers={"Host": "evil.example:%d" % srv.port})
    assert st == 421


def test_setup_and_single_use(srv, org):
    c, owner = org
    st, me = c.call("GET", "/api/me")
    assert st == 200 and me["role"] == "owner" and me["org"]["name"] == "Acme"
    assert me["wrapped_sk"] == b64(owner.wrapped_sk)
    # Token reuse: refused.
    other = Member("second@example.com")
    st, js = srv.client().call("POST", "/api/setup", dict(other.keys(), token=srv.setup_token,
                                                          org_name="Evil", email=other.email,
                                                          recovery_public_key=b64(os.urandom(32))))
    assert st == 403
    st, js = srv.client().call("GET", "/api/setup/status")
    assert st == 200 and js["needed"] is False


def test_cross_origin_post_forbidden_with_session(srv, org):
    c, _ = org
    st, _, _, _ = c.raw("POST", "/api/cameras", {"name": "x", "url": "rtsp://10.0.0.1/a"}, origin="https://evil.example")
    assert st == 403
    st, _, _, _ = c.raw("POST", "/api/logout", {}, origin=False)
    assert st == 403
    st, _ = c.call("GET", "/api/me")
    assert st == 200


def test_security_headers(srv):
    st, _, h, _ = srv.client().raw("GET", "/")
    assert st == 200
    assert "default-src 'self'" in h["content-security-policy"]
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert "unsafe-inline" not in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert "max-age" in h["strict-transport-security"]


def test_login_params_do_not_reveal_accounts(srv, org):
    c = srv.client()
    st, a = c.call("GET", "/api/login/params?email=nobody@example.com")
    st2, b = c.call("GET", "/api/login/params?email=NOBODY@example.com")
    assert st == st2 == 200 and a["salt"] == b["salt"]
    st, o = c.call("GET", "/api/login/params?email=owner@example.com")
    assert st == 200 and len(o["salt"]) == len(a["salt"])


def test_login_requires_totp_for_owner(srv, org):
    _, owner = org
    c, st, js = login(srv, owner, code=False)
    assert st == 401
    c, st, js = login(srv, owner)
    assert st == 200, js
    cookie_ok(c)
    st, me = c.call("GET", "/api/me")
    assert st == 200 and me["email"] == owner.email
    # Logout ends the session.
    st, _ = c.call("POST", "/api/logout", {})
    assert st == 200
    st, _ = c.call("GET", "/api/me")
    assert st == 401


def cookie_ok(c):
    assert c.cookie and len(c.cookie) == 43


def test_session_cookie_attributes(srv):
    m = Member("attrs@example.com")
    s = Server()
    try:
        cl = s.client()
        st, _, h, _ = cl.raw("POST", "/api/setup", dict(m.keys(), token=s.setup_token, org_name="A", email=m.email,
                                                           recovery_public_key=b64(os.urandom(32))))
        assert st == 201
        sc = h["set-cookie"]
        for attr in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
            assert attr in sc
        assert sc.startswith("__Host-vg_session=")
    finally:
        s.stop()
        s.cleanup()


def test_static_traversal(srv):
    c = srv.client()
    for p in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd", "/%2e%2e%2fapp.db",
              "/vendor/../../data/app.db", "/vendor/%2e%2e/%2e%2e/Makefile", "/index.html/..", "//etc/passwd",
              "/app.js%00.png", "/ui/app.js", "/.git/config", "/vendor/", "/vendor", "/%2fetc%2fpasswd",
              "/..\\..\\etc\\passwd", "/data/secret.key", "/app.db"]:
        st, _, _, body = c.raw("GET", p)
        assert st in (400, 404), (p, st)
        assert b"root:" not in body and b"SQLite" not in body
    st, _, _, _ = c.raw("GET", "/app.js")
    assert st == 200


def test_sql_metacharacters(srv, org):
    c, _ = org
    evil = ["' OR '1'='1", "1; DROP TABLE members;--", "\" OR 1=1 --", "1 UNION SELECT * FROM members", "%27", "1/**/OR/**/1"]
    for e in evil:
        from urllib.parse import quote
        st, js = srv.client().call("GET", "/api/login/params?email=" + quote(e))
        assert st in (200, 400), (e, st)
        for m in ("DELETE", "PATCH"):
            st, js = c.call(m, "/api/cameras/" + quote(e, safe=""), {} if m == "PATCH" else None)
            assert st in (400, 404), (e, st)
            st, js = c.call(m, "/api/members/" + quote(e, safe=""), {} if m == "PATCH" else None)
            assert st in (400, 404, 405), (e, st)
        st, js = c.call("POST", "/api/cameras", {"name": e, "url": "rtsp://10.0.0.1/" + quote(e, safe="")})
        assert st in (201, 400, 409), (e, st)
        st, js = srv.client().call("POST", "/api/login", {"email": e, "auth_key": b64(os.urandom(32))})
        assert st in (400, 401), (e, st)
    st, js = c.call("GET", "/api/members")
    assert st == 200 and len(js["members"]) >= 1


def test_bad_bodies(srv, org):
    c, _ = org
    for body in ["{", "[]", "null", '{"a":1,"a":2}', "x" * 70000]:
        st, js = c.call("POST", "/api/cameras", body)
        assert st in (400, 413), (body[:10], st)
    st, _ = c.call("POST", "/api/cameras", {"name": "c", "url": "http://x/"})
    assert st == 400
    st, _ = c.call("POST", "/api/cameras", {"name": "c", "url": "rtsp://user:pw@10.0.0.1/a"})
    assert st == 400


def test_camera_credentials_write_only(srv, org):
    c, _ = org
    st, site = c.call("POST", "/api/sites", {"name": "HQ"})
    assert st == 201
    st, js = c.call("POST", "/api/cameras", {"name": "Door", "url": "rtsp://10.0.0.5/stream1",
                                             "username": "admin", "password": "S3cretCamPw!", "site_id": site["id"]})
    assert st == 201, js
    cid = js["id"]
    st, _, _, raw = c.raw("GET", "/api/cameras")
    assert st == 200 and b"S3cretCamPw!" not in raw and b"admin" not in raw.replace(b"has_credentials", b"")
    cams = json.loads(raw)["cameras"]
    door = [x for x in cams if x["id"] == cid][0]
    assert door["has_credentials"] is True and door["site_id"] == site["id"]
    st, _ = c.call("PATCH", "/api/cameras/%d" % cid, {"name": "Front door", "password": "N3w!"})
    assert st == 200
    st, _, _, raw = c.raw("GET", "/api/audit")
    assert b"N3w!" not in raw and b"S3cretCamPw!" not in raw
    st, _ = c.call("PATCH", "/api/cameras/%d" % cid, {"site_id": 999999})
    assert st == 400
    st, _ = c.call("DELETE", "/api/cameras/%d" % cid)
    assert st == 200
    st, _ = c.call("DELETE", "/api/cameras/%d" % cid)
    assert st == 404


def test_invite_viewer_and_roles(srv, org):
    c, owner = org
    st, inv = c.call("POST", "/api/members", {"email": "viewer@example.com", "role": "viewer"})
    assert st == 201, inv
    st, me = c.call("GET", "/api/me")
    assert inv["inviter_fingerprint"] == me["fingerprint"]
    pub = srv.client()
    st, info = pub.call("GET", "/api/setup/invite?token=" + inv["token"])
    assert st == 200 and info["email"] == "viewer@example.com" and info["inviter_fingerprint"] == me["fingerprint"]
    v = Member("viewer@example.com", with_totp=False)
    st, js = pub.call("POST", "/api/setup/invite", dict(v.keys(), token=inv["token"]))
    assert st == 201, js
    # Viewer: may read cameras (only its own), not members, audit, or change anything.
    assert pub.call("GET", "/api/cameras")[0] == 200
    assert pub.call("GET", "/api/members")[0] == 403
    assert pub.call("GET", "/api/audit")[0] == 403
    for path in ("/api/audit/sth", "/api/audit/log", "/api/audit/proof/consistency?first=1", "/api/notifications",
                 "/api/alerts/webhook"):
        assert pub.call("GET", path)[0] == 403, path
    assert pub.call("PUT", "/api/alerts/webhook", {"url": "https://hooks.example.com/x"})[0] == 403
    assert pub.call("POST", "/api/cameras", {"name": "v", "url": "rtsp://10.0.0.9/x"})[0] == 403
    assert pub.call("POST", "/api/members", {"email": "x@example.com", "role": "viewer"})[0] == 403
    # Single use.
    st, js = srv.client().call("POST", "/api/setup/invite", dict(Member("z@example.com").keys(), token=inv["token"]))
    assert st == 403
    # Viewer can log in without TOTP (optional for viewers).
    c2, st, _ = login(srv, v)
    assert st == 200
    # Removal ends the viewer's sessions.
    st, members = c.call("GET", "/api/members")
    vid = [m["id"] for m in members["members"] if m["email"] == "viewer@example.com"][0]
    assert c.call("DELETE", "/api/members/%d" % vid)[0] == 200
    assert pub.call("GET", "/api/me")[0] == 401
    assert c2.call("GET", "/api/me")[0] == 401
    # The owner cannot be removed.
    assert c.call("DELETE", "/api/members/%d" % me["id"])[0] == 403


def test_audit_chain_listed(srv, org):
    c, _ = org
    st, js = c.call("GET", "/api/audit")
    assert st == 200 and js["verified"] is True
    actions = [e["action"] for e in js["entries"]]
    assert "org.setup" in actions and "camera.add" in actions
    assert len(js["head"]) == 64


def test_login_throttle():
    s = Server()
    try:
        c, owner = setup_org(s)
        cl = s.client()
        for i in range(10):
            st, js = cl.call("POST", "/api/login", {"email": owner.email, "auth_key": b64(os.urandom(32)),
                                                    "totp_code": "000000"})
            assert st == 401, (i, st)
        body = {"email": owner.email, "auth_key": b64(owner.auth_key), "totp_code": owner.fresh_code()}
        st, js, h, _ = cl.raw("POST", "/api/login", body)
        assert st == 429 and int(h["retry-after"]) > 0
        # The address is throttled too, for any account.
        st, _, h, _ = cl.raw("POST", "/api/login", {"email": "else@example.com", "auth_key": b64(os.urandom(32))})
        assert st == 429
    finally:
        s.stop()
        s.cleanup()


def test_public_keys_for_sealing(srv, org):
    """The browser seals camera keys to the recovery key and to members' keys:
    /api/me, the login answer and /api/members carry those public keys, each
    matching the fingerprint beside it."""
    c, owner = org
    st, me = c.call("GET", "/api/me")
    assert st == 200
    assert me["org"]["recovery_public_key"] == b64(owner.recovery_pk)
    assert me["org"]["recovery_fingerprint"] == fingerprint(owner.recovery_pk)
    _, st, js = login(srv, owner)
    assert st == 200 and js["org"]["recovery_public_key"] == b64(owner.recovery_pk)
    st, js = c.call("GET", "/api/members")
    mine = [m for m in js["members"] if m["id"] == me["id"]][0]
    assert mine["public_key"] == b64(owner.pk) and mine["fingerprint"] == fingerprint(owner.pk)
    assert all(len(m["public_key"]) == 43 for m in js["members"])
    # Never a secret: no wrapped secret key in the member list.
    assert all("wrapped_sk" not in m for m in js["members"])


def test_export_audited(srv, org):
    c, owner = org
    st, me = c.call("GET", "/api/me")
    st, js = c.call("POST", "/api/cameras", {"name": "Yard", "url": "rtsp://10.0.0.7/s"})
    assert st == 201, js
    cid = js["id"]
    body = {"camera_id": cid, "from90k": 90000, "to90k": 180000}
    # No key wrapped to the caller yet: 403, audited as a denial.
    st, js = c.call("POST", "/api/audit/export", body)
    assert st == 403 and js["error"] == "no_key"
    st, audit = c.call("GET", "/api/audit")
    assert any(e["action"] == "camera.denied" and e["detail"] == {"camera": cid, "what": "export"}
               for e in audit["entries"])
    # Key the camera to the owner (random bytes: the server cannot tell).
    st, js = c.call("PUT", "/api/cameras/%d/key" % cid, {
        "footage_pk": b64(os.urandom(32)), "recovery_sealed_sk": b64(os.urandom(80)),
        "wrapped": [{"member_id": me["id"], "sealed_sk": b64(os.urandom(80))}]})
    assert st == 200, js
    st, js = c.call("POST", "/api/audit/export", body)
    assert st == 200, js
    st, audit = c.call("GET", "/api/audit")
    ex = [e for e in audit["entries"] if e["action"] == "export"]
    assert ex and ex[0]["actor"] == owner.email
    assert ex[0]["detail"] == {"camera": cid, "from90k": 90000, "to90k": 180000}
    # Hostile input.
    for bad in [{}, {"camera_id": cid}, {"camera_id": str(cid), "from90k": 1, "to90k": 2},
                {"camera_id": cid, "from90k": 5, "to90k": 5}, {"camera_id": cid, "from90k": -1, "to90k": 2},
                {"camera_id": cid, "from90k": 1.5, "to90k": 2}, {"camera_id": 0, "from90k": 1, "to90k": 2}]:
        st, js = c.call("POST", "/api/audit/export", bad)
        assert st == 400, (bad, st, js)
    st, _ = c.call("POST", "/api/audit/export", dict(body, camera_id=999999))
    assert st == 404
    assert c.call("GET", "/api/audit/export")[0] == 405
    # A state-changing request: Origin checked, with or without a session.
    st, _, _, _ = c.raw("POST", "/api/audit/export", body, origin="https://evil.example")
    assert st == 403
    st, _, _, _ = c.raw("POST", "/api/audit/export", body, origin=False)
    assert st == 403
    assert len([e for e in c.call("GET", "/api/audit")[1]["entries"] if e["action"] == "export"]) == 1
