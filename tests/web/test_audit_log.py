# SPDX-License-Identifier: Apache-2.0
"""The audit log as a Merkle log (docs/design/audit.md): the API's tree
heads and proofs check out under an independent RFC 9162 implementation
here, and `vigil audit verify --log` detects an edited, deleted, reordered or
truncated log, a forged tree head, a wrong key, and a server that rewrote or
truncated its database (against a tree head kept earlier)."""
import copy
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import subprocess

import pytest

from vigil_web import VIGIL, Server, setup_org


# ---- an independent RFC 9162 implementation ---------------------------------------------------

def leaf_hash(org, e):
    def lp(s):
        b = s.encode()
        return struct.pack("<I", len(b)) + b
    data = struct.pack("<qqqq", org, e["seq"], e["ts_ms"], e["actor_id"]) + lp(e["actor"]) + \
        lp(e["action"]) + lp(e["detail"]) + lp(e["addr"])
    return hashlib.sha256(b"\x00" + data).digest()


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def mth(d):
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1
    while k * 2 < len(d):
        k *= 2
    return node(mth(d[:k]), mth(d[k:]))


def verify_inclusion(index, size, leaf, path, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, r1, r2, proof):
    if first == second:
        return not proof and r1 == r2
    if not proof:
        return False
    if first & (first - 1) == 0:
        proof = [r1] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == r1 and sr == r2


H = bytes.fromhex


# ---- a server with a few entries; tree heads kept along the way ---------------------------------

@pytest.fixture(scope="module")
def st(tmp_path_factory):
    d = tmp_path_factory.mktemp("alog")
    srv = Server()
    s = {"dir": d}
    try:
        c, owner = setup_org(srv)
        for i in range(4):
            assert c.call("POST", "/api/sites", {"name": "site %d" % i})[0] == 201
        code, s["sth1"] = c.call("GET", "/api/audit/sth")
        assert code == 200, s["sth1"]
        for i in range(3):
            assert c.call("POST", "/api/sites", {"name": "more %d" % i})[0] == 201
        s["sth2"] = c.call("GET", "/api/audit/sth")[1]
        s["log2"] = c.call("GET", "/api/audit/log")[1]
        n1, n2 = s["sth1"]["sth"]["tree_size"], s["sth2"]["sth"]["tree_size"]
        code, s["cons"] = c.call("GET", "/api/audit/proof/consistency?first=%d&second=%d" % (n1, n2))
        assert code == 200, s["cons"]
        code, s["incl"] = c.call("GET", "/api/audit/proof/inclusion?seq=3&tree_size=%d" % n2)
        assert code == 200, s["incl"]
        s["bad"] = [c.call("GET", "/api/audit/proof/consistency?first=%d" % (n2 + 1))[0],
                    c.call("GET", "/api/audit/proof/consistency?first=0")[0],
                    c.call("GET", "/api/audit/proof/inclusion?seq=x")[0],
                    c.call("GET", "/api/audit/proof/inclusion?seq=%d" % (n2 + 5))[0],
                    srv.client().call("GET", "/api/audit/sth")[0]]
        s["cookie"] = c.cookie
    finally:
        assert srv.stop() == 0, srv.stderr()
    shutil.copytree(srv.data, str(d / "data"))
    srv.cleanup()
    for k in ("sth1", "sth2", "log2", "cons", "incl"):
        with open(str(d / (k + ".json")), "w") as f:
            json.dump(s[k], f)
    s["key"] = s["sth1"]["log_key"]
    return s


def cli(st, log, *extra):
    return subprocess.run([VIGIL, "audit", "verify", "--log", str(log), "--key", st["key"]] + list(extra),
                          capture_output=True, text=True, timeout=60)


def write(st, name, obj):
    p = str(st["dir"] / name)
    with open(p, "w") as f:
        json.dump(obj, f)
    return p


def test_api_answers_check_out_independently(st):
    log, sth1, sth2 = st["log2"], st["sth1"]["sth"], st["sth2"]["sth"]
    assert log["format"] == "vigil-audit-log/1" and log["log_key"] == st["key"]
    assert st["sth1"]["log_key_fingerprint"].count(" ") == 7
    org = log["sth"]["org_id"]
    leaves = [leaf_hash(org, e) for e in log["entries"]]
    assert [e["seq"] for e in log["entries"]] == list(range(1, len(leaves) + 1))
    assert sth2["tree_size"] == len(leaves) and H(sth2["root_hash"]) == mth(leaves)
    assert H(sth1["root_hash"]) == mth(leaves[:sth1["tree_size"]])
    cons = [H(x) for x in st["cons"]["proof"]]
    assert verify_consistency(sth1["tree_size"], sth2["tree_size"], H(sth1["root_hash"]), H(sth2["root_hash"]), cons)
    assert not verify_consistency(sth1["tree_size"], sth2["tree_size"], H(sth2["root_hash"]), H(sth2["root_hash"]),
                                  cons)
    incl = st["incl"]
    assert incl["leaf_index"] == 2 and H(incl["leaf_hash"]) == leaves[2]
    assert verify_inclusion(2, sth2["tree_size"], leaves[2], [H(x) for x in incl["audit_path"]], mth(leaves))
    assert not verify_inclusion(2, sth2["tree_size"], leaves[3], [H(x) for x in incl["audit_path"]], mth(leaves))


def test_api_refuses_bad_ranges_and_strangers(st):
    assert st["bad"] == [400, 400, 400, 400, 401]


def test_cli_verifies_untouched_log_with_proofs(st):
    d = st["dir"]
    r = cli(st, d / "log2.json", "--sth", str(d / "sth1.json"), "--inclusion", str(d / "incl.json"),
            "--consistency", str(d / "cons.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "root matches" in r.stdout and "included" in r.stdout and "consistent" in r.stdout


def tamper_file(st, fn):
    log = copy.deepcopy(st["log2"])
    fn(log)
    return cli(st, write(st, "t.json", log))


def swap(log):
    e = log["entries"]
    e[1], e[2] = e[2], e[1]


def swap_renumbered(log):
    swap(log)
    e = log["entries"]
    e[1]["seq"], e[2]["seq"] = 2, 3


@pytest.mark.parametrize("what,fn,word", [
    ("edit", lambda l: l["entries"][2].update(detail='{"forged":1}'), "TAMPERED"),
    ("edit actor", lambda l: l["entries"][0].update(actor="x@example.com"), "TAMPERED"),
    ("delete", lambda l: l["entries"].pop(3), "TAMPERED"),
    ("reorder", swap, "TAMPERED"),
    ("reorder renumbered", swap_renumbered, "TAMPERED"),
    ("truncate", lambda l: l.__setitem__("entries", l["entries"][:-2]), "TRUNCATED"),
    ("forged head", lambda l: l["sth"].update(tree_size=l["sth"]["tree_size"] - 2), "BAD SIGNATURE"),
    ("other key", lambda l: l.update(log_key="00" * 32), "BAD SIGNATURE"),
])
def test_cli_detects_file_tampering(st, what, fn, word):
    r = tamper_file(st, fn)
    assert r.returncode == 1, (what, r.stdout, r.stderr)
    assert word in r.stdout, (what, r.stdout)


def test_cli_wrong_pinned_key_and_bad_input(st):
    d = st["dir"]
    r = subprocess.run([VIGIL, "audit", "verify", "--log", str(d / "log2.json"), "--key", "11" * 32],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "BAD SIGNATURE" in r.stdout
    with open(str(d / "junk.json"), "w") as f:
        f.write('{"format": "vigil-audit-log/1", "entries": [}')
    assert cli(st, d / "junk.json").returncode == 3
    assert cli(st, d / "missing.json").returncode == 3
    r = subprocess.run([VIGIL, "audit", "verify", "--log", str(d / "log2.json")], capture_output=True, timeout=60)
    assert r.returncode == 2


def server_log_after(st, tmp_path, sql):
    """The server's own log after its database was changed behind its back."""
    data = str(tmp_path / "data")
    shutil.copytree(str(st["dir"] / "data"), data)
    con = sqlite3.connect(os.path.join(data, "app.db"))
    con.executescript(sql)
    con.commit()
    con.close()
    srv = Server(data=data)
    try:
        c = srv.client()
        c.cookie = st["cookie"]
        code, log = c.call("GET", "/api/audit/log")
        assert code == 200, log
    finally:
        assert srv.stop() == 0, srv.stderr()
        srv.cleanup()
    return write(st, "server.json", log)


def test_truncated_database_detected_against_kept_head(st, tmp_path):
    n = st["sth2"]["sth"]["tree_size"]
    log = server_log_after(st, tmp_path, "DELETE FROM audit WHERE seq > %d;" % (n - 3))
    assert cli(st, log).returncode == 0    # consistent with itself: only a kept head shows it
    r = cli(st, log, "--sth", str(st["dir"] / "sth2.json"))
    assert r.returncode == 1 and "TRUNCATED" in r.stdout, r.stdout + r.stderr


def test_rewritten_database_detected_against_kept_head(st, tmp_path):
    log = server_log_after(st, tmp_path, "UPDATE audit SET detail = '{\"name\":\"elsewhere\"}' WHERE seq = 2;")
    r = cli(st, log, "--sth", str(st["dir"] / "sth1.json"))
    assert r.returncode == 1 and "REWRITTEN" in r.stdout, r.stdout + r.stderr


def test_data_mode_prints_the_root(st):
    r = subprocess.run([VIGIL, "audit", "verify", "--data", str(st["dir"] / "data")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout
    assert "tree size %d, root %s" % (st["sth2"]["sth"]["tree_size"], st["log2"]["sth"]["root_hash"]) in r.stdout


def test_log_key_file_private_and_stable(st, tmp_path):
    p = str(st["dir"] / "data" / "audit-log.key")
    assert os.stat(p).st_mode & 0o077 == 0 and os.path.getsize(p) == 32
    # A restart keeps the key: tree heads stay verifiable under the pinned key.
    log = server_log_after(st, tmp_path, "SELECT 1;")
    assert json.load(open(log))["log_key"] == st["key"]


def data_verify(st, data, *extra):
    return subprocess.run([VIGIL, "audit", "verify", "--data", data] + list(extra), capture_output=True, text=True,
                          timeout=60)


def test_data_mode_against_kept_head(st, tmp_path):
    """A truncated audit table passes the chain check (the tail is simply gone) but not a kept head."""
    sth2 = str(st["dir"] / "sth2.json")
    r = data_verify(st, str(st["dir"] / "data"), "--key", st["key"], "--sth", sth2)
    assert r.returncode == 0 and "consistent with the earlier tree head" in r.stdout, r.stdout + r.stderr
    data = str(tmp_path / "cut")
    shutil.copytree(str(st["dir"] / "data"), data)
    con = sqlite3.connect(os.path.join(data, "app.db"))
    con.execute("DELETE FROM audit WHERE seq > 3")
    con.commit()
    con.close()
    assert data_verify(st, data).returncode == 0          # the chain alone cannot see it
    r = data_verify(st, data, "--key", st["key"], "--sth", sth2)
    assert r.returncode == 1 and "TRUNCATED" in r.stdout, r.stdout + r.stderr
    r = data_verify(st, data, "--key", "22" * 32, "--sth", sth2)
    assert r.returncode == 1 and "BAD SIGNATURE" in r.stdout
    assert data_verify(st, data, "--sth", sth2).returncode == 2    # a kept head needs the pinned key
