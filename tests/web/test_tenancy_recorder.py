# SPDX-License-Identifier: Apache-2.0
"""Several organizations in one `vigil run` (docs/design/tenancy.md,
"Recorder"): the demo camera belongs to the first tenant organization only
(not the platform's, even when the platform was made first); cameras of
every organization are recorded; real segments and live streams stay in
their organization; a suspended organization keeps recording while its
members' sessions (a live stream included) end."""
import threading
import time

import pytest
from nacl.public import PrivateKey, SealedBox

from test_live import KeyedMember, served_run, stream
from vigil_web import b64, create_org, login, operator_setup, setup_org


srv = pytest.fixture(served_run, scope="module", name="srv")


def put_key(c, cam, member_id, owner):
    cam_sk = PrivateKey.generate()
    sealed = SealedBox(owner.box_sk.public_key).encrypt(bytes(cam_sk))
    recovery = SealedBox(PrivateKey.generate().public_key).encrypt(bytes(cam_sk))
    st, js = c.call("PUT", "/api/cameras/%d/key" % cam, {"footage_pk": b64(bytes(cam_sk.public_key)),
                                                         "recovery_sealed_sk": b64(recovery),
                                                         "wrapped": [{"member_id": member_id, "sealed_sk": b64(sealed)}]})
    assert st == 200, js
    return cam_sk


def org_row(op_c, org):
    st, js = op_c.call("GET", "/api/platform/orgs")
    assert st == 200
    return [o for o in js["organizations"] if o["id"] == org][0]


def test_two_organizations_one_recorder(srv):
    op_c, op = operator_setup(srv)                    # the platform first: the lowest organization id
    a_c, a_owner = setup_org(srv, KeyedMember("owner@first.example"), org="First")
    b_c, b_owner, org_b = create_org(srv, op_c, "Second", KeyedMember("owner@second.example"))
    st, a_me = a_c.call("GET", "/api/me")
    st, b_me = b_c.call("GET", "/api/me")
    org_a = a_me["org"]["id"]
    assert org_a < org_b

    # The demo camera: in the first tenant organization, nowhere else.
    st, ca = a_c.call("GET", "/api/cameras")
    demo = [c["id"] for c in ca["cameras"] if c["builtin"]]
    assert len(demo) == 1, ca
    demo = demo[0]
    st, cb = b_c.call("GET", "/api/cameras")
    assert not any(c["builtin"] for c in cb["cameras"]), cb
    put_key(a_c, demo, a_me["id"], a_owner)

    # B's RTSP camera (nothing listens there) goes to the same recorder.
    st, js = b_c.call("POST", "/api/cameras", {"name": "dock", "url": "rtsp://127.0.0.1:9/none"})
    assert st == 201
    dock = js["id"]
    put_key(b_c, dock, b_me["id"], b_owner)
    st, cb = b_c.call("GET", "/api/cameras")
    status = [c for c in cb["cameras"] if c["id"] == dock][0]["status"]
    assert status["detail"] not in ("not recording", "no footage key yet", "no recorder in this process"), status

    # A closed segment of the demo camera (4 s segments).
    seg = None
    deadline = time.time() + 40
    while seg is None and time.time() < deadline:
        st, js = a_c.call("GET", "/api/cameras/%d/recordings" % demo)
        assert st == 200, js
        seg = next((s["id"] for s in js["segments"] if s["status"] == "closed"), None)
        time.sleep(0.5)
    assert seg, "no closed segment of the demo camera"
    assert a_c.call("GET", "/api/segments/%d" % seg)[0] == 200

    # B's owner and the operator reach none of it, by any route.
    for path in ("/api/segments/%d" % seg, "/api/segments/%d/data" % seg, "/api/cameras/%d/recordings" % demo,
                 "/api/cameras/%d/key" % demo, "/api/live?camera=%d" % demo):
        st, js = b_c.call("GET", path)
        assert st == 404, (path, st, js)
        st, js = op_c.call("GET", path)
        assert st == 403 and js["error"] == "forbidden", (path, st, js)
    st, js = a_c.call("GET", "/api/cameras/%d/key" % dock)
    assert st == 404
    st, js = b_c.call("POST", "/api/audit/export", {"camera_id": demo, "from90k": 0, "to90k": 90000})
    assert st == 404

    # The operator's health and storage, per organization.
    a_row, b_row = org_row(op_c, org_a), org_row(op_c, org_b)
    assert a_row["health"]["recording"] == 1 and a_row["storage_bytes"] > 0, a_row
    assert b_row["health"] == {"recording": 0, "offline": 1} and b_row["storage_bytes"] == 0, b_row

    # Suspending A ends its live stream; the recorder keeps recording A.
    result = {}

    def watch():
        t0 = time.time()
        result["st"], result["data"] = stream(srv, a_c, "/api/live?camera=%d" % demo, 25)
        result["secs"] = time.time() - t0

    st, js = a_c.call("GET", "/api/cameras/%d/recordings" % demo)
    closed_before = {s["id"] for s in js["segments"] if s["status"] == "closed"}
    th = threading.Thread(target=watch)
    th.start()
    time.sleep(3)
    st, _ = op_c.call("POST", "/api/platform/orgs/%d/suspend" % org_a)
    assert st == 200
    th.join(30)
    assert result["st"] == 200 and len(result["data"]) > 0
    assert result["secs"] < 15, "the live stream outlived the suspension: %.1f s" % result["secs"]
    assert a_c.call("GET", "/api/me")[0] == 401
    time.sleep(5)
    assert org_row(op_c, org_a)["health"]["recording"] == 1
    # Still B's to use meanwhile.
    assert b_c.call("GET", "/api/cameras")[0] == 200
    st, _ = op_c.call("POST", "/api/platform/orgs/%d/resume" % org_a)
    assert st == 200
    c, st, _ = login(srv, a_owner)
    assert st == 200
    st, js = c.call("GET", "/api/cameras/%d/recordings" % demo)
    closed_after = {s["id"] for s in js["segments"] if s["status"] == "closed"}
    # Segments closed while nobody of A could sign in: recording went on.
    assert len(closed_after - closed_before) >= 2, (closed_before, closed_after)
