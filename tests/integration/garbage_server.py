#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A misbehaving "RTSP camera" for robustness tests (loopback only).

Modes (--mode):
  garbage      answers every request with random bytes, then keeps the connection open
  truncated    starts a valid reply and closes mid-header
  huge-headers a 200 reply whose header never ends (4 MiB of header lines), then closes
  huge-length  a DESCRIBE reply announcing a 1 TB body, then 64 KiB of it and closes
  bad-sdp      valid RTSP; DESCRIBE returns an SDP that is not SDP (garbage lines,
               no v=/m=, an m= line with a nonsense port, bad sprop-parameter-sets)
  no-media     valid RTSP and valid SDP, but no media vigil records (JPEG video, an
               application stream)
  silent       accepts and reads, never answers
  close        accepts and closes at once

Every connection and request line goes to --log ("CONN <t>", "REQ <t> <METHOD>"), so a
test can check that the client keeps retrying (and does not hammer). Prints
"READY port=P"; exits on SIGTERM/SIGINT or after --max-seconds.
"""
import argparse
import os
import random
import re
import signal
import socket
import socketserver
import sys
import threading
import time

BAD_SDP = (
    "this is not sdp\r\n"
    "m=video notaport RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=!!!notbase64,@@@\r\n"
    "c=IN IP4\r\n"
    "a=control:\r\n"
    "=\r\n"
    "m=\r\n"
)

NO_MEDIA_SDP = (
    "v=0\r\n"
    "o=- 1 1 IN IP4 127.0.0.1\r\n"
    "s=garbage-server no supported media\r\n"
    "t=0 0\r\n"
    "m=video 0 RTP/AVP 26\r\n"
    "a=control:track1\r\n"
    "m=application 0 RTP/AVP 107\r\n"
    "a=rtpmap:107 vnd.onvif.metadata/90000\r\n"
    "a=control:track2\r\n"
)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        srv.note("CONN %.6f" % time.monotonic())
        sock = self.request
        sock.settimeout(srv.args.max_seconds)
        mode = srv.args.mode
        if mode == "close":
            return
        buf = b""
        rng = random.Random(srv.args.seed)
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = sock.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m:  # skip a request body (none expected from a client, but be exact)
                    buf = buf[int(m.group(1)):]
                method = head.split(b" ", 1)[0].decode("latin-1", "replace")
                c = re.search(rb"(?im)^cseq:\s*(\d+)", head)
                cseq = c.group(1).decode() if c else "0"
                srv.note("REQ %.6f %s" % (time.monotonic(), method))
                if not self.answer(sock, mode, method, cseq, rng):
                    return
        except OSError:
            return

    def answer(self, sock, mode, method, cseq, rng):
        """Reply to one request; return False to close the connection."""
        if mode == "silent":
            return True
        if mode == "garbage":
            sock.sendall(bytes(rng.getrandbits(8) for _ in range(4096)))
            return True
        if mode == "truncated":
            sock.sendall(b"RTSP/1.0 200 OK\r\nCSeq: " + cseq.encode() + b"\r\nContent-Le")
            return False
        if mode == "huge-headers":
            sock.sendall(b"RTSP/1.0 200 OK\r\nCSeq: " + cseq.encode() + b"\r\n")
            line = b"X-Junk: " + b"A" * 8000 + b"\r\n"
            for _ in range(4 * 1024 * 1024 // len(line)):
                sock.sendall(line)
            return False
        if method == "OPTIONS":
            self.reply(sock, cseq, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n")
            return True
        if method == "DESCRIBE":
            if mode == "huge-length":
                sock.sendall(("RTSP/1.0 200 OK\r\nCSeq: %s\r\nContent-Type: application/sdp\r\n"
                              "Content-Length: 1000000000000\r\n\r\n" % cseq).encode())
                sock.sendall(b"v=0\r\n" + b"a=x\r\n" * 13000)
                return False
            sdp = BAD_SDP if mode == "bad-sdp" else NO_MEDIA_SDP
            self.reply(sock, cseq, "Content-Type: application/sdp\r\n"
                       "Content-Base: rtsp://127.0.0.1:%d/cam1/\r\n" % self.server.port, sdp)
            return True
        self.reply(sock, cseq, "", status="455 Method Not Valid in This State")
        return True

    @staticmethod
    def reply(sock, cseq, headers, body="", status="200 OK"):
        b = body.encode()
        sock.sendall(("RTSP/1.0 %s\r\nCSeq: %s\r\n%sContent-Length: %d\r\n\r\n"
                      % (status, cseq, headers, len(b))).encode() + b)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, args):
        super().__init__(("127.0.0.1", args.port), Handler)
        self.args = args
        self.port = self.server_address[1]
        self.lock = threading.Lock()
        self.logf = open(args.log, "a", buffering=1) if args.log else None

    def note(self, line):
        if self.logf:
            with self.lock:
                self.logf.write(line + "\n")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", required=True,
                    choices=["garbage", "truncated", "huge-headers", "huge-length", "bad-sdp",
                             "no-media", "silent", "close"])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=180)
    args = ap.parse_args(argv)
    srv = Server(args)

    def stop(*_a):
        os._exit(0)  # handler threads may be blocked in recv; nothing to flush but the log

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Timer(args.max_seconds, stop).start()
    print("READY port=%d" % srv.port, flush=True)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
