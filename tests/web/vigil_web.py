# SPDX-License-Identifier: Apache-2.0
"""Helpers for the web integration tests: run `vigil serve` on a fresh data
dir and talk HTTPS to it (self-signed certificate, so verification is off)."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VIGIL = os.environ.get("VIGIL_BIN", os.path.join(ROOT, "build", "asan", "vigil"))

# The Playwright browser tests (tests/web/*.test.mjs) run with node against Chromium.
PLAYWRIGHT = os.path.join(ROOT, "node_modules", "playwright-core")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node")
HAVE_BROWSER = bool(os.path.isdir(PLAYWRIGHT) and os.path.exists(CHROMIUM) and NODE)
NEEDS_BROWSER = "needs npm ci (playwright-core), node and chromium"


def run_browser_test(script, timeout=300, **env):
    """Runs tests/web/<script> with node against VIGIL and CHROMIUM (more environment as
    keyword arguments), prints its output and fails if it failed. Returns the result."""
    r = subprocess.run([NODE, os.path.join(ROOT, "tests", "web", script)], cwd=ROOT,
                       env=dict(os.environ, VIGIL_BIN=VIGIL, CHROMIUM=CHROMIUM, **env),
                       capture_output=True, text=True, timeout=timeout)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-6000:]
    return r


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def totp(secret, t=None, step_offset=0):
    """RFC 6238 with HMAC-SHA1, 30 s, 6 digits."""
    step = int((time.time() if t is None else t) // 30) + step_offset
    mac = hmac.new(secret, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    v = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return "%06d" % (v % 1000000)


# Sanitizer reports in a server's output fail its test (checked when it stops).
# LeakSanitizer runs at exit: the exit code alone is not enough (a test may
# stop the server in a way that ignores it), so the text is checked too.
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error|"
                          r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)")


def sanitizer_env():
    """The environment for a server under test: leak checking on, reports on stderr."""
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    return env


def assert_sanitizer_clean(text, what="vigil"):
    m = SANITIZER_RE.search(text)
    assert not m, "sanitizer report in %s:\n%s" % (what, text[max(0, m.start() - 200):][:12000])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Member:
    """Key material a browser would derive; random here (the server cannot
    tell: it only ever sees the auth key)."""

    def __init__(self, email, with_totp=True):
        self.email = email
        self.salt = os.urandom(16)
        self.auth_key = os.urandom(32)
        self.pk = os.urandom(32)
        self.wrapped_sk = os.urandom(72)
        self.totp_secret = os.urandom(20) if with_totp else None
        self.last_step = None

    def keys(self):
        d = {"salt": b64(self.salt), "auth_key": b64(self.auth_key), "public_key": b64(self.pk),
             "wrapped_sk": b64(self.wrapped_sk)}
        if self.totp_secret:
            d["totp_secret"] = b64(self.totp_secret)
            d["totp_code"] = self.fresh_code()
        return d

    def fresh_code(self):
        """A code for a step not used before (the server refuses replays)."""
        while True:
            step = int(time.time() // 30)
            if self.last_step is None or step > self.last_step:
                self.last_step = step
                return totp(self.totp_secret)
            # try the next step (accepted: one step of drift)
            if self.last_step == step:
                self.last_step = step + 1
                return totp(self.totp_secret, step_offset=1)
            time.sleep(1)


class Server:
    def __init__(self, data=None):
        """data: an existing data directory to serve (default: a new one)."""
        self.dir = tempfile.mkdtemp(prefix="vigil-web-")
        self.data = data or os.path.join(self.dir, "data")
        self.port = free_port()
        self.origin = "https://127.0.0.1:%d" % self.port
        self.errpath = os.path.join(self.dir, "stderr.txt")
        self.err = open(self.errpath, "wb")
        self.proc = subprocess.Popen(
            [VIGIL, "serve", "--data", self.data, "--listen", "127.0.0.1:%d" % self.port,
             "--ui", os.path.join(ROOT, "ui")], stdout=self.err, stderr=self.err, cwd=ROOT, env=sanitizer_env())
        self.setup_token = None
        deadline = time.time() + 20
        while time.time() < deadline:
            text = open(self.errpath, "rb").read().decode(errors="replace")
            m = re.search(r"#setup=([A-Za-z0-9_-]{43})", text)
            if m:
                self.setup_token = m.group(1)
            if "listening on" in text:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("vigil serve exited: " + text)
            time.sleep(0.05)
        raise RuntimeError("vigil serve did not start")

    def stderr(self):
        return open(self.errpath, "rb").read().decode(errors="replace")

    def stop(self):
        """Stops the server (SIGTERM) and returns its exit code; fails the
        test if its output holds a sanitizer report (leaks are reported at
        exit, so this is where they show)."""
        self.proc.terminate()
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.err.close()
        assert_sanitizer_clean(self.stderr(), "the server's stderr")
        return rc

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self):
        return Client(self)


class Client:
    def __init__(self, server):
        self.server = server
        self.cookie = None
        self.ctx = ssl._create_unverified_context()

    def raw(self, method, path, body=None, headers=None, origin=True):
        h = {}
        if origin is True:
            h["Origin"] = self.server.origin
        elif origin:
            h["Origin"] = origin
        if self.cookie:
            h["Cookie"] = "__Host-vg_session=" + self.cookie
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.ctx, timeout=20)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        sc = r.getheader("Set-Cookie")
        if sc and sc.startswith("__Host-vg_session="):
            val = sc.split(";")[0].split("=", 1)[1]
            self.cookie = val or None
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        try:
            js = json.loads(data) if data else None
        except ValueError:
            js = None
        return r.status, js, hdrs, data

    def call(self, method, path, body=None, **kw):
        st, js, _, _ = self.raw(method, path, body, **kw)
        return st, js


def fingerprint(pk):
    """The key fingerprint people compare: BLAKE2b-128, hex in groups of 4."""
    h = hashlib.blake2b(pk, digest_size=16).hexdigest()
    return " ".join(h[i:i + 4] for i in range(0, 32, 4))


def setup_org(server, owner=None, org="Acme", token=None):
    """Creates the organization (or, with the token of an organization an
    operator created, becomes its owner); owner.recovery_pk is the recovery
    public key sent."""
    owner = owner or Member("owner@example.com")
    owner.recovery_pk = os.urandom(32)
    c = server.client()
    body = dict(owner.keys(), token=token or server.setup_token, org_name=org, email=owner.email,
                recovery_public_key=b64(owner.recovery_pk))
    st, js = c.call("POST", "/api/setup", body)
    assert st == 201, (st, js)
    return c, owner


def login(server, m, code=True):
    c = server.client()
    body = {"email": m.email, "auth_key": b64(m.auth_key)}
    if code and m.totp_secret:
        body["totp_code"] = m.fresh_code()
    st, js = c.call("POST", "/api/login", body)
    return c, st, js


# ---- the platform (docs/design/tenancy.md) ----------------------------------------

def operator_setup_token(server, data=None):
    """Runs `vigil operator setup` on the server's data dir; returns (exit code, token or None, output)."""
    p = subprocess.run([VIGIL, "operator", "setup", "--data", data or getattr(server, "data", os.path.join(server.dir, "data")), "--origin", server.origin],
                       capture_output=True, text=True, env=sanitizer_env(), timeout=60)
    assert_sanitizer_clean(p.stderr, "vigil operator setup")
    m = re.search(r"#setup=([A-Za-z0-9_-]{43})", p.stdout)
    return p.returncode, m.group(1) if m else None, p.stdout + p.stderr


def operator_setup(server, op=None, name="Vendor"):
    """Creates the platform organization and its first operator: the CLI's
    one-time link, then POST /api/setup (TOTP mandatory, no recovery key).
    Returns (client signed in as the operator, Member)."""
    rc, tok, out = operator_setup_token(server)
    assert rc == 0 and tok, out
    op = op or Member("operator@vendor.example")
    c = server.client()
    st, js = c.call("POST", "/api/setup", dict(op.keys(), token=tok, org_name=name, email=op.email))
    assert st == 201 and js["role"] == "operator", (st, js)
    return c, op


def platform_invite(server, op_client, email, role):
    """An operator invites `role` ("support" or "operator") into the platform
    organization; the invitee accepts. Returns (client signed in, Member)."""
    st, js = op_client.call("POST", "/api/platform/members", {"email": email, "role": role})
    assert st == 201, (st, js)
    m = Member(email)
    c = server.client()
    st, me = c.call("POST", "/api/setup/invite", dict(m.keys(), token=js["token"]))
    assert st == 201 and me["role"] == role, (st, me)
    return c, m


def create_support(server, op_client, email="support@vendor.example"):
    """A support account (role support in the platform organization), signed in."""
    return platform_invite(server, op_client, email, "support")


def create_org(server, op_client, name, owner=None, max_cameras=None):
    """An operator creates a tenant organization; its owner uses the one-time
    link. Returns (owner's client, owner Member, organization id)."""
    body = {"name": name}
    if max_cameras is not None:
        body["max_cameras"] = max_cameras
    st, js = op_client.call("POST", "/api/platform/orgs", body)
    assert st == 201, (st, js)
    c, owner = setup_org(server, owner or Member("owner@%s.example" % re.sub(r"[^a-z0-9]", "", name.lower())),
                         org=name, token=js["token"])
    return c, owner, js["id"]


def invite_member(server, admin_client, email, role="viewer"):
    """An admin or owner invites a member into their organization; the member
    accepts. Returns (client signed in, Member with .id)."""
    st, js = admin_client.call("POST", "/api/members", {"email": email, "role": role})
    assert st == 201, (st, js)
    m = Member(email, with_totp=True)
    c = server.client()
    st, me = c.call("POST", "/api/setup/invite", dict(m.keys(), token=js["token"]))
    assert st == 201, (st, me)
    m.id = me["id"]
    return c, m
