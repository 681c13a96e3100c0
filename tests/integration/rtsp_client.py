# SPDX-License-Identifier: Apache-2.0
"""A minimal RTSP/RTP client for self-testing the test tooling (camera, relay).

Not a model of vigil: no auth, first media only, blocking sockets. It records every RTP
packet's (seq, timestamp, marker, ssrc, arrival time) so tests can check what a camera or
relay really puts on the wire (timestamp jumps, stalls, loss, reordering).
"""
import re
import socket
import struct
import time


class RtspClient:
    def __init__(self, url, timeout=5.0):
        m = re.match(r"rtsp://([^:/]+):(\d+)(/.*)", url)
        self.host, self.port, self.path = m.group(1), int(m.group(2)), m.group(3)
        self.url = url
        self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        self.cseq = 0
        self.session = None
        self.buf = b""
        self.udp = None

    def close(self):
        self.sock.close()
        if self.udp:
            for s in self.udp:
                s.close()

    def _recv_more(self):
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("server closed")
        self.buf += d

    def _read_message(self):
        """Return ('rtsp', status, headers, body) or ('rtp', channel, payload)."""
        while True:
            if self.buf[:1] == b"$":
                if len(self.buf) >= 4:
                    ch, n = self.buf[1], struct.unpack(">H", self.buf[2:4])[0]
                    if len(self.buf) >= 4 + n:
                        pkt, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                        return ("rtp", ch, pkt)
            else:
                end = self.buf.find(b"\r\n\r\n")
                if end >= 0:
                    head = self.buf[:end].decode("latin-1").split("\r\n")
                    hdrs = {}
                    for line in head[1:]:
                        k, _, v = line.partition(":")
                        hdrs[k.strip().lower()] = v.strip()
                    n = int(hdrs.get("content-length", "0"))
                    if len(self.buf) >= end + 4 + n:
                        body = self.buf[end + 4:end + 4 + n]
                        self.buf = self.buf[end + 4 + n:]
                        return ("rtsp", int(head[0].split()[1]), hdrs, body)
            self._recv_more()

    def request(self, method, url, extra=None):
        self.cseq += 1
        lines = ["%s %s RTSP/1.0" % (method, url), "CSeq: %d" % self.cseq]
        if self.session:
            lines.append("Session: %s" % self.session)
        for k, v in (extra or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while True:
            msg = self._read_message()
            if msg[0] == "rtsp":
                return msg[1], msg[2], msg[3]

    def start(self, transport="tcp"):
        """DESCRIBE, SETUP the first media, PLAY. Returns the SDP text."""
        st, hdrs, sdp = self.request("DESCRIBE", self.url, {"Accept": "application/sdp"})
        if st != 200:
            raise RuntimeError("DESCRIBE %d" % st)
        base = hdrs.get("content-base", self.url)
        ctrl = re.search(rb"a=control:(\S+)", sdp.split(b"m=", 1)[1]).group(1).decode()
        track = ctrl if ctrl.startswith("rtsp://") else base.rstrip("/") + "/" + ctrl
        if transport == "tcp":
            tr = "RTP/AVP/TCP;unicast;interleaved=0-1"
        else:
            self.udp = _udp_pair()
            p = self.udp[0].getsockname()[1]
            tr = "RTP/AVP;unicast;client_port=%d-%d" % (p, p + 1)
        st, hdrs, _ = self.request("SETUP", track, {"Transport": tr})
        if st != 200:
            raise RuntimeError("SETUP %d" % st)
        self.session = hdrs["session"].split(";")[0]
        self.transport_reply = hdrs.get("transport", "")
        st, _, _ = self.request("PLAY", base, {"Range": "npt=0.000-"})
        if st != 200:
            raise RuntimeError("PLAY %d" % st)
        return sdp.decode("latin-1")

    def collect(self, seconds):
        """Read RTP for `seconds`; return [(t, seq, ts, marker, ssrc, payload)]."""
        out = []
        end = time.monotonic() + seconds
        if self.udp:
            s = self.udp[0]
            while time.monotonic() < end:
                s.settimeout(max(0.01, end - time.monotonic()))
                try:
                    pkt = s.recv(65536)
                except socket.timeout:
                    break
                out.append(_rtp(pkt))
            return out
        while time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                msg = self._read_message()
            except socket.timeout:
                break
            if msg[0] == "rtp" and msg[1] == 0:
                out.append(_rtp(msg[2]))
        return out


def _rtp(pkt):
    b0, b1, seq, ts, ssrc = struct.unpack(">BBHII", pkt[:12])
    cc = b0 & 0x0F
    return (time.monotonic(), seq, ts, bool(b1 & 0x80), ssrc, pkt[12 + 4 * cc:])


def _udp_pair():
    """Bind an even/odd UDP port pair on loopback (RFC 3550 §11: RTP even, RTCP +1)."""
    for _ in range(100):
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        p = a.getsockname()[1]
        if p % 2 == 0:
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                b.bind(("127.0.0.1", p + 1))
                return a, b
            except OSError:
                b.close()
        a.close()
    raise OSError("no even/odd UDP port pair")
