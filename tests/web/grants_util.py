# SPDX-License-Identifier: Apache-2.0
"""What an admin's and a support account's browsers do for grants and share
links (docs/design/grants.md), in Python: signing keys, grant statements,
sealing segment keys, the share passphrase's keys."""
import hashlib
import os
import sqlite3
import struct
import time

from nacl.bindings import crypto_secretbox, crypto_secretbox_open
from nacl.public import PrivateKey, SealedBox
from nacl.pwhash import argon2id
from nacl.signing import SigningKey

from test_live import KeyedMember, unb64
from vigil_web import b64, operator_setup, totp


def kdf(master, sub, ctx):
    """libsodium crypto_kdf_derive_from_key (BLAKE2b with salt and personal)."""
    return hashlib.blake2b(b"", digest_size=32, key=master, salt=struct.pack("<Q", sub) + b"\0" * 8,
                           person=ctx + b"\0" * 8).digest()


def wrap(key, data):
    n = os.urandom(24)
    return n + crypto_secretbox(data, n, key)


def unwrap(key, blob):
    return crypto_secretbox_open(blob[24:], blob[:24], key)


def set_sign_key(c, kek=None):
    """Makes the caller's Ed25519 signing key, wrapped under its KEK."""
    sk = SigningKey.generate()
    kek = kek or os.urandom(32)
    st, js = c.call("PUT", "/api/me/signkey", {"sign_pk": b64(bytes(sk.verify_key)),
                                               "wrapped_sign_sk": b64(wrap(kek, bytes(sk) + bytes(sk.verify_key)))})
    return sk, st, js


def make_support(srv, email, m=None):
    """A support account of the platform organization, made the platform's way
    (docs/design/tenancy.md): the platform's first operator (once per server)
    invites it, and it accepts with a real X25519 key pair (m: a KeyedMember
    or one whose keys come from a password)."""
    m = m or KeyedMember(email)
    op_c = getattr(srv, "op_client", None)
    if op_c is None:
        op_c, _ = operator_setup(srv)
        srv.op_client = op_c
    st, js = op_c.call("POST", "/api/platform/members", {"email": email, "role": "support"})
    assert st == 201, (st, js)
    st, me = srv.client().call("POST", "/api/setup/invite", dict(m.keys(), token=js["token"]))
    assert st == 201 and me["role"] == "support", (st, me)
    m.id = me["id"]
    return m


def now90k():
    return int(time.time() * 90000)


def statement(org_uid_hex, grantee_id, grantee_pk, cams, from90k, to90k, expires, uid=None):
    return ("vigil-grant-v1\norg %s\ngrant %s\ngrantee %d\ngrantee_pk %s\ncameras %s\nfrom %d\nto %d\nexpires %d\n"
            % (org_uid_hex, (uid or os.urandom(16)).hex(), grantee_id, b64(grantee_pk), " ".join(cams), from90k,
               to90k, expires))


def issue(c, sign_sk, stmt, keys=None):
    body = {"statement": stmt, "signature": b64(sign_sk.sign(stmt.encode()).signature)}
    if keys is not None:
        body["keys"] = keys
    return c.call("POST", "/api/grants", body)


def reseal(cam_sk, seg_meta, grantee_pk):
    """The admin's browser: opens a segment key with the camera key, seals it to the grantee."""
    ckey = SealedBox(cam_sk).decrypt(unb64(seg_meta["sealed_key"]))
    return {"segment_id": seg_meta["id"], "sealed_key": b64(SealedBox(grantee_pk).encrypt(ckey))}


def share_keys(passphrase, salt):
    master = argon2id.kdf(32, passphrase.encode(), salt, opslimit=3, memlimit=64 << 20)
    return kdf(master, 1, b"vigilshr"), kdf(master, 2, b"vigilshr")


def index_grant_keys(srv, grant_id):
    db = sqlite3.connect(os.path.join(srv.dir, "data", "index.db"), timeout=10)
    try:
        return db.execute("SELECT segment FROM grant_keys WHERE grant_id = ?", (grant_id,)).fetchall()
    finally:
        db.close()


def app_rows(srv, sql, args=()):
    db = sqlite3.connect(os.path.join(srv.dir, "data", "app.db"), timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


__all__ = ["kdf", "wrap", "unwrap", "set_sign_key", "make_support", "now90k", "statement", "issue", "reseal",
           "share_keys", "index_grant_keys", "app_rows", "PrivateKey", "totp"]
