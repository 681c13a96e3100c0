# SPDX-License-Identifier: Apache-2.0
"""A software WebAuthn authenticator for API tests: it builds the bytes a
browser and a CTAP2 authenticator would (CBOR attestation object, COSE key,
authenticatorData, clientDataJSON) and signs with ES256 or Ed25519 keys from
the `cryptography` package, so the server's real verification runs."""
import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def cbor(v):
    """Canonical-enough CBOR for ints, bytes, text and maps (RFC 8949)."""
    def head(mt, n):
        if n < 24:
            return bytes([mt << 5 | n])
        for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)):
                return bytes([mt << 5 | ai]) + struct.pack(fmt, n)
        raise ValueError(n)
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(type(v))


class SoftKey:
    def __init__(self, alg=-7, counter=0):
        self.alg = alg
        self.cred_id = os.urandom(32)
        self.counter = counter
        if alg == -7:
            self.sk = ec.generate_private_key(ec.SECP256R1())
            n = self.sk.public_key().public_numbers()
            self.cose = cbor({1: 2, 3: -7, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")})
        else:
            self.sk = ed25519.Ed25519PrivateKey.generate()
            raw = self.sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            self.cose = cbor({1: 1, 3: -8, -1: 6, -2: raw})

    def sign(self, msg):
        if self.alg == -7:
            return self.sk.sign(msg, ec.ECDSA(hashes.SHA256()))
        return self.sk.sign(msg)

    @staticmethod
    def client_data(typ, challenge, origin):
        return json.dumps({"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()

    def authdata(self, rp_id, flags, attested):
        ad = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.counter)
        if attested:
            ad += b"\0" * 16 + struct.pack(">H", len(self.cred_id)) + self.cred_id + self.cose
        return ad

    def create(self, options, origin, flags=0x45, challenge=None):
        """navigator.credentials.create: the body of POST /api/webauthn/credentials."""
        pk = options["publicKey"]
        cdj = self.client_data("webauthn.create", challenge or pk["challenge"], origin)
        att = cbor({"fmt": "none", "attStmt": {}, "authData": self.authdata(pk["rp"]["id"], flags, True)})
        return {"attestation_object": b64u(att), "client_data_json": b64u(cdj)}

    def get(self, login, origin, flags=0x05, bump=1, signer=None, challenge=None, rp_id=None):
        """navigator.credentials.get: the body of POST /api/login/webauthn."""
        pk = login["publicKey"]
        self.counter += bump
        cdj = self.client_data("webauthn.get", challenge or pk["challenge"], origin)
        ad = self.authdata(rp_id or pk["rpId"], flags, False)
        sig = (signer or self).sign(ad + hashlib.sha256(cdj).digest())
        return {"login_token": login["login_token"], "credential_id": b64u(self.cred_id),
                "authenticator_data": b64u(ad), "client_data_json": b64u(cdj), "signature": b64u(sig)}
