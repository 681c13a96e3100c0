# SPDX-License-Identifier: Apache-2.0
"""`vigil audit verify` detects an edited, deleted or reordered audit entry
(and passes an untouched log), working offline on a copy of the database."""
import os
import shutil
import sqlite3
import subprocess

import pytest

from vigil_web import VIGIL, Server, login, setup_org


@pytest.fixture(scope="module")
def db_copy(tmp_path_factory):
    srv = Server()
    try:
        c, owner = setup_org(srv)
        for _ in range(3):  # a few more entries: logins
            _, st, _ = login(srv, owner)
            assert st == 200
    finally:
        assert srv.stop() == 0, srv.stderr()
    d = tmp_path_factory.mktemp("audit")
    shutil.copytree(os.path.join(srv.dir, "data"), d / "data")
    srv.cleanup()
    return str(d / "data")


def verify(data):
    return subprocess.run([VIGIL, "audit", "verify", "--data", data], capture_output=True,
                          text=True, timeout=60)


def tampered(src, tmp_path, sql):
    data = str(tmp_path / "t")
    shutil.copytree(src, data)
    con = sqlite3.connect(os.path.join(data, "app.db"))
    con.executescript(sql)
    con.commit()
    con.close()
    return verify(data)


def test_untouched_log_verifies(db_copy):
    r = verify(db_copy)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "chain intact" in r.stdout and "head " in r.stdout


@pytest.mark.parametrize("what,sql", [
    ("edit", "UPDATE audit SET detail = '{\"forged\":1}' WHERE seq = 2;"),
    ("edit actor", "UPDATE audit SET actor = 'someone-else@example.com' WHERE seq = 1;"),
    ("delete", "DELETE FROM audit WHERE seq = 2;"),
    ("reorder", "UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3;"
                "UPDATE audit SET seq = 3 WHERE seq = -1;"),
])
def test_tampering_detected(db_copy, tmp_path, what, sql):
    r = tampered(db_copy, tmp_path, sql)
    assert r.returncode == 1, (what, r.stdout, r.stderr)
    assert "TAMPERED" in r.stdout, (what, r.stdout)
