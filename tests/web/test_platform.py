# SPDX-License-Identifier: Apache-2.0
"""The platform (docs/design/tenancy.md): `vigil operator setup`, operators
and support accounts by invitation, organizations created by an operator
(bound setup link), suspension, quota, and what the operator cannot do."""
import glob
import os
import re

import pytest

from vigil_web import (ROOT, Member, Server, b64, create_org, create_support, login, operator_setup,
                       operator_setup_token, platform_invite, setup_org)


@pytest.fixture(scope="module")
def srv():
    s = Server()
    yield s
    s.stop()
    s.cleanup()


@pytest.fixture(scope="module")
def op(srv):
    return operator_setup(srv)


def audit_actions(client, path="/api/audit"):
    st, js = client.call("GET", path)
    assert st == 200, (st, js)
    assert js["verified"] is True
    return js["entries"]


def test_operator_setup_link_single_use_never_logged(srv):
    rc, tok, out = operator_setup_token(srv)
    assert rc == 0 and tok, out
    pub = srv.client()
    st, info = pub.call("GET", "/api/setup/token?token=" + tok)
    assert st == 200 and info == {"kind": "platform", "org": None}
    # TOTP is mandatory for an operator.
    m = Member("op-nototp@vendor.example", with_totp=False)
    st, _ = pub.call("POST", "/api/setup", dict(m.keys(), token=tok, org_name="Vendor", email=m.email))
    assert st == 400
    # The link is in no file of the data dir nor in the server's output.
    for path in glob.glob(os.path.join(srv.data, "**"), recursive=True) + [srv.errpath]:
        if os.path.isfile(path):
            assert tok.encode() not in open(path, "rb").read(), path


def test_operator_setup_creates_platform_once(srv, op):
    c, m = op
    st, me = c.call("GET", "/api/me")
    assert st == 200 and me["role"] == "operator" and me["totp"] is True
    # A second platform cannot be made from the command line.
    rc, tok, out = operator_setup_token(srv)
    assert rc != 0 and tok is None and "exists" in out
    # The first-start tenant link still works: the platform is not a tenant.
    st, js = srv.client().call("GET", "/api/setup/status")
    assert st == 200 and js["needed"] is True


def test_used_platform_link_refused(srv):
    s2 = Server()
    try:
        rc, tok, _ = operator_setup_token(s2)
        a, b = Member("o1@vendor.example"), Member("o2@vendor.example")
        st, _ = s2.client().call("POST", "/api/setup", dict(a.keys(), token=tok, org_name="V", email=a.email))
        assert st == 201
        st, js = s2.client().call("POST", "/api/setup", dict(b.keys(), token=tok, org_name="V", email=b.email))
        assert st == 403 and js["error"] == "bad_token"
    finally:
        s2.stop()
        s2.cleanup()


def test_operator_invites_support_and_operators(srv, op):
    opc, _ = op
    sup_c, sup = create_support(srv, opc, "support1@vendor.example")
    st, me = sup_c.call("GET", "/api/me")
    assert st == 200 and me["role"] == "support"
    op2_c, op2 = platform_invite(srv, opc, "op2@vendor.example", "operator")
    st, js = op2_c.call("GET", "/api/platform/orgs")
    assert st == 200
    # Support and operator sign in again with password + TOTP.
    c, st, js = login(srv, sup)
    assert st == 200 and js["role"] == "support"
    c2, st, _ = login(srv, sup, code=False)
    assert st == 401
    # Only support/operator can be invited into the platform; never a tenant role.
    st, js = opc.call("POST", "/api/platform/members", {"email": "x@vendor.example", "role": "admin"})
    assert st == 400
    # A support account cannot use the operator's routes.
    for method, path in [("GET", "/api/platform/orgs"), ("POST", "/api/platform/members"),
                         ("GET", "/api/platform/audit")]:
        st, js = sup_c.call(method, path, {"email": "y@vendor.example", "role": "support"})
        assert st == 403, (method, path, st)
    st, js = opc.call("GET", "/api/platform/members")
    roles = sorted((m["email"], m["role"]) for m in js["members"])
    assert ("support1@vendor.example", "support") in roles and ("op2@vendor.example", "operator") in roles
    acts = [e["action"] for e in audit_actions(opc, "/api/platform/audit")]
    assert "member.invite" in acts and "member.join" in acts


def test_tenant_admin_cannot_invite_platform_roles(srv, op):
    opc, _ = op
    oc, owner, org = create_org(srv, opc, "Inviters")
    for role in ("support", "operator", "owner"):
        st, js = oc.call("POST", "/api/members", {"email": "p@x.example", "role": role})
        assert st == 400, (role, st, js)


def test_operator_creates_org_and_owner_arrives(srv, op):
    opc, opm = op
    st, js = opc.call("POST", "/api/platform/orgs", {"name": "Harbor Logistics", "max_cameras": 3})
    assert st == 201 and js["expires_in"] <= 3600
    tok, org = js["token"], js["id"]
    st, info = srv.client().call("GET", "/api/setup/token?token=" + tok)
    assert st == 200 and info == {"kind": "owner", "org": "Harbor Logistics"}
    st, js = opc.call("POST", "/api/platform/orgs", {"name": "Harbor Logistics"})
    assert st == 409
    st, orgs = opc.call("GET", "/api/platform/orgs")
    o = [x for x in orgs["organizations"] if x["id"] == org][0]
    assert o["awaiting_owner"] is True and o["members"] == 0 and o["max_cameras"] == 3
    # The owner keeps the operator's name for the organization.
    oc, owner = setup_org(srv, Member("boss@harbor.example"), org="Something else", token=tok)
    st, me = oc.call("GET", "/api/me")
    assert me["role"] == "owner" and me["org"]["name"] == "Harbor Logistics" and me["org"]["id"] == org
    assert me["org"]["recovery_fingerprint"]
    # Single use; and no new owner link once somebody is in.
    st, js = srv.client().call("POST", "/api/setup", dict(Member("z@harbor.example").keys(), token=tok,
                                                          email="z@harbor.example",
                                                          recovery_public_key=b64(os.urandom(32))))
    assert st == 403
    st, js = opc.call("POST", "/api/platform/orgs/%d/setup-link" % org)
    assert st == 409
    acts = audit_actions(oc)
    assert [e["action"] for e in acts][-2:] == ["org.setup", "org.create"]
    create = acts[-1]
    assert create["actor"] == "platform:" + opm.email
    pacts = audit_actions(opc, "/api/platform/audit")
    assert any(e["action"] == "platform.org.create" and e["detail"]["org"] == org for e in pacts)
    # The operator's list holds counts, not people or cameras.
    st, orgs = opc.call("GET", "/api/platform/orgs")
    o = [x for x in orgs["organizations"] if x["id"] == org][0]
    assert o["members"] == 1 and o["awaiting_owner"] is False
    assert "boss@harbor.example" not in str(orgs)


def test_setup_link_replaced_before_owner(srv, op):
    opc, _ = op
    st, js = opc.call("POST", "/api/platform/orgs", {"name": "Slow Owner"})
    first = js["token"]
    st, js2 = opc.call("POST", "/api/platform/orgs/%d/setup-link" % js["id"])
    assert st == 200 and js2["token"] != first
    st, _ = srv.client().call("GET", "/api/setup/token?token=" + first)
    assert st == 404
    setup_org(srv, Member("late@slow.example"), token=js2["token"])


def test_suspend_blocks_members_not_recording(srv, op):
    opc, _ = op
    oc, owner, org = create_org(srv, opc, "Suspendable")
    st, _ = oc.call("POST", "/api/cameras", {"name": "door", "url": "rtsp://10.0.0.9/door"})
    assert st == 201
    st, js = opc.call("POST", "/api/platform/orgs/%d/suspend" % org)
    assert st == 200 and js["state"] == "suspended"
    st, _ = oc.call("GET", "/api/me")
    assert st == 401
    c, st, _ = login(srv, owner)
    assert st == 401
    st, orgs = opc.call("GET", "/api/platform/orgs")
    assert [x for x in orgs["organizations"] if x["id"] == org][0]["state"] == "suspended"
    st, js = opc.call("POST", "/api/platform/orgs/%d/resume" % org)
    assert st == 200 and js["state"] == "active"
    c, st, _ = login(srv, owner)
    assert st == 200
    acts = [e["action"] for e in audit_actions(c)]
    assert "org.suspend" in acts and "org.resume" in acts
    pacts = [e["action"] for e in audit_actions(opc, "/api/platform/audit")]
    assert "platform.org.suspend" in pacts and "platform.org.resume" in pacts
    # The platform organization itself is not the operator's to suspend.
    st, me = opc.call("GET", "/api/me")
    st, _ = opc.call("POST", "/api/platform/orgs/%d/suspend" % me["org"]["id"])
    assert st == 404


def test_quota_refuses_camera_over_it(srv, op):
    opc, _ = op
    oc, owner, org = create_org(srv, opc, "Quota Co", max_cameras=1)
    st, _ = oc.call("POST", "/api/cameras", {"name": "one", "url": "rtsp://10.0.0.1/a"})
    assert st == 201
    st, js = oc.call("POST", "/api/cameras", {"name": "two", "url": "rtsp://10.0.0.1/b"})
    assert st == 403 and js["error"] == "quota_exceeded"
    st, js = opc.call("PUT", "/api/platform/orgs/%d/quota" % org, {"max_cameras": 2})
    assert st == 200 and js["max_cameras"] == 2
    st, _ = oc.call("POST", "/api/cameras", {"name": "two", "url": "rtsp://10.0.0.1/b"})
    assert st == 201
    st, js = oc.call("POST", "/api/cameras", {"name": "three", "url": "rtsp://10.0.0.1/c"})
    assert st == 403
    st, js = opc.call("PUT", "/api/platform/orgs/%d/quota" % org, {"max_cameras": None})
    assert st == 200 and js["max_cameras"] is None
    st, _ = oc.call("POST", "/api/cameras", {"name": "three", "url": "rtsp://10.0.0.1/c"})
    assert st == 201
    for bad in ({"max_cameras": -1}, {"max_cameras": "2"}, {}, {"max_cameras": 10 ** 9}):
        st, _ = opc.call("PUT", "/api/platform/orgs/%d/quota" % org, bad)
        assert st == 400, bad
    st, orgs = opc.call("GET", "/api/platform/orgs")
    o = [x for x in orgs["organizations"] if x["id"] == org][0]
    assert o["cameras"] == 3 and o["max_cameras"] is None
    assert o["health"] == {"recording": 0, "offline": 3}
    assert "rtsp://" not in str(orgs) and "one" not in [x.get("name") for x in orgs["organizations"]]
    acts = [e["action"] for e in audit_actions(oc)]
    assert "org.quota" in acts


def test_operator_refused_on_tenant_routes(srv, op):
    opc, _ = op
    for method, path in [("GET", "/api/cameras"), ("GET", "/api/members"), ("GET", "/api/audit"),
                         ("POST", "/api/cameras"), ("GET", "/api/cameras/1/key"), ("GET", "/api/sites"),
                         ("GET", "/api/live?camera=1"), ("GET", "/api/segments/1/data")]:
        st, js = opc.call(method, path, {})
        assert st == 403 and js["error"] == "forbidden", (method, path, st)


# The functions of src/auth/auth.c that may open a session: each needs the
# person's own setup link, invitation or credentials. A new sign-in method
# (e.g. WebAuthn) is added here after review; an impersonation route never is.
SESSION_OPENERS = ["accept_tx", "setup_tx", "vg_auth_login"]


def test_only_a_members_own_credentials_open_a_session():
    """Static: sessions are inserted in one function, called only by the
    three calls where a member presents their own credentials or link."""
    srcs = {p: open(p).read() for p in glob.glob(os.path.join(ROOT, "src", "**", "*.c"), recursive=True)}
    inserts = [p for p, t in srcs.items() if re.search(r"INSERT\s+(OR\s+\w+\s+)?INTO\s+sessions", t, re.I)]
    assert [os.path.relpath(p, ROOT) for p in inserts] == ["src/auth/auth.c"]
    auth = srcs[os.path.join(ROOT, "src", "auth", "auth.c")]
    assert len(re.findall(r"INTO\s+sessions", auth)) == 1
    callers = []
    func = None
    for line in auth.splitlines():
        m = re.match(r"^(?:static )?(?:int|void) (\w+)\(", line)
        if m:
            func = m.group(1)
        if re.search(r"\bsession_open\(", line) and not line.startswith("static int session_open"):
            callers.append(func)
    assert sorted(callers) == sorted(SESSION_OPENERS), callers
    # No other file reaches the sessions table to write it.
    for p, t in srcs.items():
        if p.endswith("auth.c"):
            continue
        assert not re.search(r"(UPDATE|REPLACE INTO)\s+sessions", t, re.I), p
    # No impersonation-shaped route exists.
    routes = open(os.path.join(ROOT, "src", "web", "platform.c")).read()
    assert not re.search(r"impersonat|act_as|login_as|/session", routes, re.I)


def test_email_is_one_account_in_the_whole_vigil(srv, op):
    """docs/design/tenancy.md "Emails": an address in use in one organization
    cannot join another; inviting it reveals nothing to the inviter."""
    opc, _ = op
    a_c, a_owner, _ = create_org(srv, opc, "Email A", Member("shared-owner@a.example"))
    b_c, b_owner, _ = create_org(srv, opc, "Email B", Member("owner@emailb.example"))
    st, inv = b_c.call("POST", "/api/members", {"email": "shared-owner@a.example", "role": "viewer"})
    assert st == 201
    st, js = srv.client().call("POST", "/api/setup/invite", dict(Member("shared-owner@a.example").keys(),
                                                                 token=inv["token"]))
    assert st == 400
    st, ms = b_c.call("GET", "/api/members")
    assert "shared-owner@a.example" not in str(ms)
    # The member of A is untouched and still signs in to A.
    c, st, me = login(srv, a_owner)
    assert st == 200 and me["org"]["name"] == "Email A"
    # Nor can a platform account take a tenant member's address.
    st, inv = opc.call("POST", "/api/platform/members", {"email": "shared-owner@a.example", "role": "support"})
    st, js = srv.client().call("POST", "/api/setup/invite", dict(Member("shared-owner@a.example").keys(),
                                                                 token=inv["token"]))
    assert st == 400


def test_operator_removes_platform_accounts(srv, op):
    opc, _ = op
    sup_c, sup = create_support(srv, opc, "leaver@vendor.example")
    st, pm = opc.call("GET", "/api/platform/members")
    ids = {m["email"]: m["id"] for m in pm["members"]}
    st, me = opc.call("GET", "/api/me")
    st, js = opc.call("DELETE", "/api/platform/members/%d" % me["id"])
    assert st == 403 and js["error"] == "self"
    st, _ = sup_c.call("DELETE", "/api/platform/members/%d" % me["id"])
    assert st == 403
    st, _ = opc.call("DELETE", "/api/platform/members/%d" % ids["leaver@vendor.example"])
    assert st == 200
    assert sup_c.call("GET", "/api/me")[0] == 401
    c, st, _ = login(srv, sup)
    assert st == 401
    # A tenant's member id is not the operator's to remove.
    oc, owner, org = create_org(srv, opc, "Keep Members")
    st, ome = oc.call("GET", "/api/me")
    st, _ = opc.call("DELETE", "/api/platform/members/%d" % ome["id"])
    assert st == 404
    assert oc.call("GET", "/api/me")[0] == 200
    acts = [(e["action"], e["detail"].get("email")) for e in audit_actions(opc, "/api/platform/audit")]
    assert ("member.remove", "leaver@vendor.example") in acts
