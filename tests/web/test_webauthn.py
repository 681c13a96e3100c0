# SPDX-License-Identifier: Apache-2.0
"""WebAuthn second factor against the real binary (`vigil serve`), with a
software authenticator (webauthn_soft.py) so every refusal can be provoked:
registration, login with a key, TOTP as fallback only where allowed, the
policy switch, a wrong or unknown credential, replayed and foreign
challenges, counter regression, the last-factor rule, throttling of step 2,
and the audit trail. The real-browser path is test_browser_webauthn.py."""
import os
import sqlite3

import pytest

from vigil_web import Member, Server, b64, login, setup_org
from webauthn_soft import SoftKey


@pytest.fixture(scope="module")
def srv():
    s = Server()
    yield s
    assert s.stop() == 0, s.stderr()
    s.cleanup()


@pytest.fixture(scope="module")
def org(srv):
    return setup_org(srv)


def register(c, key, origin, name="key"):
    st, opts = c.call("POST", "/api/webauthn/register/options", {})
    assert st == 200, opts
    body = dict(key.create(opts, origin), name=name)
    return c.call("POST", "/api/webauthn/credentials", body), opts


def password_step(srv, m, code=False):
    c, st, js = login(srv, m, code=code)
    return c, st, js


def audit_actions(c):
    st, js = c.call("GET", "/api/audit")
    assert st == 200 and js["verified"]
    return js["entries"]


def test_routes_need_session(srv):
    c = srv.client()
    for method, path in [("GET", "/api/webauthn/credentials"), ("POST", "/api/webauthn/credentials"),
                         ("POST", "/api/webauthn/register/options"), ("PATCH", "/api/webauthn/credentials/1"),
                         ("DELETE", "/api/webauthn/credentials/1"), ("GET", "/api/security/policy"),
                         ("PUT", "/api/security/policy")]:
        st, js = c.call(method, path, {} if method != "GET" else None)
        assert st == 401, (method, path, st)


@pytest.mark.parametrize("alg", [-7, -8])
def test_register_and_login_with_key(alg):
    s = Server()
    try:
        c, owner = setup_org(s)
        key = SoftKey(alg)
        (st, js), _ = register(c, key, s.origin, name="Desk key")
        assert st == 201, js
        st, lst = c.call("GET", "/api/webauthn/credentials")
        assert st == 200 and [k["name"] for k in lst["credentials"]] == ["Desk key"]
        assert lst["credentials"][0]["alg"] == ("ES256" if alg == -7 else "EdDSA")
        # The same authenticator is excluded from a second registration.
        st, opts = c.call("POST", "/api/webauthn/register/options", {})
        assert [d["id"] for d in opts["publicKey"]["excludeCredentials"]] == [b64(key.cred_id)]
        # Password step: no session, a pending login with a challenge.
        c2, st, pend = password_step(s, owner)
        assert st == 401 and pend["error"] == "webauthn_required", pend
        assert c2.cookie is None
        assert pend["publicKey"]["rpId"] == "127.0.0.1"
        assert [d["id"] for d in pend["publicKey"]["allowCredentials"]] == [b64(key.cred_id)]
        st, me = c2.call("POST", "/api/login/webauthn", key.get(pend, s.origin))
        assert st == 200 and me["email"] == owner.email, me
        assert c2.call("GET", "/api/me")[0] == 200
        # TOTP is still a fallback while the organization allows it.
        c3, st, _ = password_step(s, owner, code=True)
        assert st == 200
        entries = audit_actions(c3)
        acts = [e["action"] for e in entries]
        assert "webauthn.add" in acts
        assert any(e["action"] == "login" and e["detail"].get("factor") == "webauthn" for e in entries)
    finally:
        assert s.stop() == 0
        s.cleanup()


def test_refusals():
    s = Server()
    try:
        c, owner = setup_org(s)
        key, other = SoftKey(-7), SoftKey(-7)
        (st, js), _ = register(c, key, s.origin)
        assert st == 201, js

        # Registration: foreign origin, and a challenge used twice.
        st, opts = c.call("POST", "/api/webauthn/register/options", {})
        bad = dict(other.create(opts, "https://evil.example"), name="x")
        assert c.call("POST", "/api/webauthn/credentials", bad)[0] == 403
        good = dict(other.create(opts, s.origin), name="x")
        assert c.call("POST", "/api/webauthn/credentials", good)[0] == 403   # challenge already taken
        # A challenge from another session does not register in this one.
        c_other, st, _ = password_step(s, owner, code=True)
        st, opts_other = c_other.call("POST", "/api/webauthn/register/options", {})
        assert c.call("POST", "/api/webauthn/credentials", dict(other.create(opts_other, s.origin), name="x"))[0] == 403

        # Wrong key for a registered credential id.
        _, st, pend = password_step(s, owner)
        cl = s.client()
        assert cl.call("POST", "/api/login/webauthn", key.get(pend, s.origin, signer=other))[0] == 401
        # Replay: the pending login's challenge was consumed by the failed try.
        assert cl.call("POST", "/api/login/webauthn", key.get(pend, s.origin))[0] == 401
        # Unknown credential.
        _, st, pend = password_step(s, owner)
        assert cl.call("POST", "/api/login/webauthn", other.get(pend, s.origin))[0] == 401
        # A signature over another login's challenge.
        _, st, p1 = password_step(s, owner)
        _, st, p2 = password_step(s, owner)
        assert cl.call("POST", "/api/login/webauthn", key.get(p2, s.origin, challenge=p1["publicKey"]["challenge"]))[0] == 401
        # Wrong rpId, wrong origin, no user presence.
        _, st, pend = password_step(s, owner)
        assert cl.call("POST", "/api/login/webauthn", key.get(pend, s.origin, rp_id="evil.example"))[0] == 401
        _, st, pend = password_step(s, owner)
        assert cl.call("POST", "/api/login/webauthn", key.get(pend, "https://127.0.0.1:1"))[0] == 401
        _, st, pend = password_step(s, owner)
        assert cl.call("POST", "/api/login/webauthn", key.get(pend, s.origin, flags=0))[0] == 401
        # A good assertion still works, and a successful one cannot be replayed.
        _, st, pend = password_step(s, owner)
        body = key.get(pend, s.origin)
        assert cl.call("POST", "/api/login/webauthn", body)[0] == 200
        assert s.client().call("POST", "/api/login/webauthn", body)[0] == 401
        # Counter regression: refused and audited as a possible clone.
        _, st, pend = password_step(s, owner)
        assert cl.call("POST", "/api/login/webauthn", key.get(pend, s.origin, bump=-2))[0] == 401
        entries = audit_actions(c)
        reg = [e for e in entries if e["action"] == "webauthn.counter_regression"]
        assert reg and reg[0]["detail"]["received"] < reg[0]["detail"]["stored"]
        fails = [e for e in entries if e["action"] == "login.fail" and e["detail"].get("factor") == "webauthn"]
        assert len(fails) >= 6
        # Malformed bodies.
        assert cl.call("POST", "/api/login/webauthn", {"login_token": "x"})[0] == 400
        assert cl.call("POST", "/api/login/webauthn", dict(key.get(pend, s.origin), signature="!!"))[0] == 400
    finally:
        assert s.stop() == 0
        s.cleanup()


def test_policy_totp_off_and_last_factor():
    s = Server()
    try:
        c, owner = setup_org(s)
        # An admin without a key blocks switching TOTP off.
        st, inv = c.call("POST", "/api/members", {"email": "admin@example.com", "role": "admin"})
        adm = Member("admin@example.com")
        pub = s.client()
        assert pub.call("POST", "/api/setup/invite", dict(adm.keys(), token=inv["token"]))[0] == 201
        okey, akey = SoftKey(-8), SoftKey(-7)
        assert register(c, okey, s.origin)[0][0] == 201
        st, js = c.call("PUT", "/api/security/policy", {"allow_totp": False})
        assert st == 409 and js["error"] == "members_without_key" and js["members"] == ["admin@example.com"]
        # Admins cannot change the policy; owners can.
        assert pub.call("PUT", "/api/security/policy", {"allow_totp": False})[0] == 403
        assert register(pub, akey, s.origin)[0][0] == 201
        st, ms = c.call("GET", "/api/members")
        assert {m["email"]: m["security_keys"] for m in ms["members"]} == {"owner@example.com": 1,
                                                                           "admin@example.com": 1}
        st, js = c.call("PUT", "/api/security/policy", {"allow_totp": False})
        assert st == 200 and js == {"allow_totp": False, "require_uv": False}
        # A TOTP code no longer signs in: the key is asked for.
        c2, st, pend = password_step(s, owner, code=True)
        assert st == 401 and pend["error"] == "webauthn_required" and pend["totp_allowed"] is False
        assert c2.cookie is None
        # The only allowed factor cannot be removed; a second key can.
        st, lst = c.call("GET", "/api/webauthn/credentials")
        kid = lst["credentials"][0]["id"]
        assert c.call("DELETE", "/api/webauthn/credentials/%d" % kid)[1] == {"error": "last_factor"}
        k2 = SoftKey(-7)
        assert register(c, k2, s.origin)[0][0] == 201
        assert c.call("PATCH", "/api/webauthn/credentials/%d" % kid, {"name": "Old key"})[0] == 200
        assert c.call("DELETE", "/api/webauthn/credentials/%d" % kid)[0] == 200
        # Someone else's credential is not found.
        st, al = pub.call("GET", "/api/webauthn/credentials")
        assert c.call("DELETE", "/api/webauthn/credentials/%d" % al["credentials"][0]["id"])[0] == 404
        # The removed key no longer signs in; the remaining one does.
        _, st, pend = password_step(s, owner)
        assert s.client().call("POST", "/api/login/webauthn", okey.get(pend, s.origin))[0] == 401
        _, st, pend = password_step(s, owner)
        assert s.client().call("POST", "/api/login/webauthn", k2.get(pend, s.origin))[0] == 200
        # UV as policy: a presence-only assertion is refused once UV is required.
        assert c.call("PUT", "/api/security/policy", {"require_uv": True})[0] == 200
        _, st, pend = password_step(s, owner)
        assert pend["publicKey"]["userVerification"] == "required"
        assert s.client().call("POST", "/api/login/webauthn", k2.get(pend, s.origin, flags=0x01))[0] == 401
        _, st, pend = password_step(s, owner)
        assert s.client().call("POST", "/api/login/webauthn", k2.get(pend, s.origin, flags=0x05))[0] == 200
        acts = [e["action"] for e in audit_actions(c)]
        for a in ("org.security", "webauthn.add", "webauthn.rename", "webauthn.remove"):
            assert a in acts, a
    finally:
        assert s.stop() == 0
        s.cleanup()


def test_step_two_throttled():
    s = Server()
    try:
        c, owner = setup_org(s)
        key = SoftKey(-7)
        assert register(c, key, s.origin)[0][0] == 201
        cl = s.client()
        for i in range(10):
            _, st, pend = password_step(s, owner)
            assert st == 401 and pend["error"] == "webauthn_required", (i, pend)
            assert cl.call("POST", "/api/login/webauthn", key.get(pend, s.origin, signer=SoftKey(-7)))[0] == 401
        # The account and the address are throttled now, even for the right key.
        _, st, pend = password_step(s, owner)
        assert st == 429
        st, _, h, _ = cl.raw("POST", "/api/login/webauthn", {"login_token": b64(os.urandom(32)),
                                                             "credential_id": "AA", "authenticator_data": "AA",
                                                             "client_data_json": "AA", "signature": "AA"})
        assert st == 429 and int(h["retry-after"]) > 0
    finally:
        assert s.stop() == 0
        s.cleanup()


def test_invitation_with_key_when_totp_is_off():
    s = Server()
    try:
        c, owner = setup_org(s)
        assert register(c, SoftKey(-7), s.origin)[0][0] == 201
        assert c.call("PUT", "/api/security/policy", {"allow_totp": False})[0] == 200
        st, inv = c.call("POST", "/api/members", {"email": "admin2@example.com", "role": "admin"})
        pub = s.client()
        st, info = pub.call("GET", "/api/setup/invite?token=" + inv["token"])
        assert st == 200 and info["key_required"] is True and info["totp_allowed"] is False
        adm = Member("admin2@example.com")
        # TOTP alone cannot make an admin here: the key is required.
        assert pub.call("POST", "/api/setup/invite", dict(adm.keys(), token=inv["token"]))[0] == 400
        adm.totp_secret = None
        key = SoftKey(-8)
        # A registration over another challenge is refused.
        st, opts = pub.call("POST", "/api/setup/invite/webauthn", {"token": inv["token"]})
        assert st == 200, opts
        bad = key.create(opts, s.origin, challenge=b64(os.urandom(32)))
        st, js = pub.call("POST", "/api/setup/invite", dict(adm.keys(), token=inv["token"], webauthn=bad))
        assert st == 403, js
        # The challenge was used by that try: a fresh one, then the join.
        assert pub.call("POST", "/api/setup/invite/webauthn", {"token": "x" * 43})[0] == 403
        st, opts = pub.call("POST", "/api/setup/invite/webauthn", {"token": inv["token"]})
        wa = dict(key.create(opts, s.origin), name="Laptop")
        st, me = pub.call("POST", "/api/setup/invite", dict(adm.keys(), token=inv["token"], webauthn=wa))
        assert st == 201 and me["role"] == "admin", me
        st, lst = pub.call("GET", "/api/webauthn/credentials")
        assert [k["name"] for k in lst["credentials"]] == ["Laptop"] and lst["totp"] is False
        # Where TOTP is not allowed, nobody enrols it (a viewer joins without it).
        st, inv2 = c.call("POST", "/api/members", {"email": "viewer2@example.com", "role": "viewer"})
        v = Member("viewer2@example.com")
        assert s.client().call("POST", "/api/setup/invite", dict(v.keys(), token=inv2["token"]))[0] == 400
        v.totp_secret = None
        assert s.client().call("POST", "/api/setup/invite", dict(v.keys(), token=inv2["token"]))[0] == 201
        # The new admin signs in with that key.
        _, st, pend = password_step(s, adm)
        assert st == 401 and pend["error"] == "webauthn_required"
        assert s.client().call("POST", "/api/login/webauthn", key.get(pend, s.origin))[0] == 200
    finally:
        assert s.stop() == 0
        s.cleanup()


def test_support_account_manages_keys_and_needs_a_factor():
    """Support accounts (platform role) need a second factor at login and
    manage their own keys through the same routes."""
    s = Server()
    try:
        c, owner = setup_org(s)
        st, inv = c.call("POST", "/api/members", {"email": "support@example.com", "role": "admin"})
        sup = Member("support@example.com")
        assert s.client().call("POST", "/api/setup/invite", dict(sup.keys(), token=inv["token"]))[0] == 201
        db = sqlite3.connect(os.path.join(s.dir, "data", "app.db"))
        db.execute("UPDATE members SET role = 'support' WHERE email = 'support@example.com'")
        db.commit()
        sc, st, js = login(s, sup)
        assert st == 200 and js["role"] == "support", js
        assert sc.call("GET", "/api/cameras")[0] == 403          # tenant routes stay closed
        key = SoftKey(-7)
        (st, js), _ = register(sc, key, s.origin)
        assert st == 201, js
        _, st, pend = password_step(s, sup)
        assert st == 401 and pend["error"] == "webauthn_required"
        assert s.client().call("POST", "/api/login/webauthn", key.get(pend, s.origin))[0] == 200
        # Without TOTP and without a key, a support account cannot sign in.
        db.execute("DELETE FROM webauthn_credentials")
        db.execute("UPDATE members SET totp_secret = NULL WHERE email = 'support@example.com'")
        db.commit()
        db.close()
        _, st, js = password_step(s, sup)
        assert st == 401 and js["error"] == "bad_credentials"
    finally:
        assert s.stop() == 0
        s.cleanup()
