#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Lossy RTSP relay for testing vigil's RTP-over-UDP path (loopback only).

vigil connects to the relay as if it were the camera. The relay proxies the RTSP TCP
connection to the real camera and rewrites what is needed so RTP/RTCP flow through it:

  SETUP request   Transport client_port=A-B  ->  client_port=R1-R2 (relay sockets facing
                                                 the camera)
  SETUP reply     client_port=R1-R2;server_port=S1-S2 -> client_port=A-B;server_port=Q1-Q2
                                                 (relay sockets facing vigil)
  all replies     the camera's "127.0.0.1:<port>" (Content-Base, SDP a=control, RTP-Info)
                  becomes the relay's address, so vigil never bypasses the relay.

Requests are forwarded unchanged otherwise (a Digest response covers the request URI, so
rewriting it would break auth; gst-rtsp-server matches on the path only).
Interleaved ($) data passes untouched: the relay impairs UDP only.

Impairments, on RTP camera->vigil only (RTCP is passed intact, as it is rare and small):
  --loss P     drop each packet with probability P (default 0.02)
  --reorder P  with probability P hold a packet back and send it after 1-3 later ones
  --seed N     deterministic
Every accepted connection ("CONN") and every dropped/reordered packet's RTP sequence number
("DROP"/"HOLD") is written to --log, so a test can count connections and
tell where loss happened. Prints "READY port=P". Exits on SIGTERM/SIGINT or --max-seconds.
"""
import argparse
import asyncio
import random
import re
import signal
import socket
import struct
import sys
import time

HOST = "127.0.0.1"


class Stats:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1) if path else None
        self.forwarded = self.dropped = self.reordered = 0

    def note(self, what, seq):
        if self.f:
            self.f.write("%s %.6f %d\n" % (what, time.monotonic(), seq))


class Impair:
    """Drop/reorder decisions for one RTP stream."""

    def __init__(self, args, rng, stats, send):
        self.loss, self.reorder = args.loss, args.reorder
        self.rng, self.stats, self.send = rng, stats, send
        self.held = []  # [packets_still_to_pass, packet]

    def packet(self, pkt):
        seq = struct.unpack(">H", pkt[2:4])[0] if len(pkt) >= 4 else -1
        r = self.rng.random()
        if r < self.loss:
            self.stats.dropped += 1
            self.stats.note("DROP", seq)
        elif r < self.loss + self.reorder:
            self.stats.reordered += 1
            self.stats.note("HOLD", seq)
            self.held.append([self.rng.randint(1, 3), pkt])
            return
        else:
            self.stats.forwarded += 1
            self.send(pkt)
        self._release()

    def _release(self):
        keep = []
        for h in self.held:
            h[0] -= 1
            if h[0] <= 0:
                self.stats.forwarded += 1
                self.send(h[1])
            else:
                keep.append(h)
        self.held = keep

    def flush(self):
        """Release held packets (called by a timer, so a paused stream loses nothing more)."""
        for _, pkt in self.held:
            self.stats.forwarded += 1
            self.send(pkt)
        self.held = []


class Leg(asyncio.DatagramProtocol):
    """One relay UDP socket; forwards what arrives to a peer via a partner socket."""

    def __init__(self):
        self.transport = None
        self.on_packet = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if self.on_packet:
            self.on_packet(data, addr)


async def udp_pair(loop):
    """Two relay sockets on consecutive ports, RTP even (RFC 3550 §11)."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((HOST, 0))
        p = s.getsockname()[1]
        if p % 2:
            s.close()
            continue
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s2.bind((HOST, p + 1))
        except OSError:
            s.close()
            s2.close()
            continue
        legs = []
        for sock in (s, s2):
            _, proto = await loop.create_datagram_endpoint(Leg, sock=sock)
            legs.append(proto)
        return p, legs
    raise OSError("no UDP port pair")


class Session:
    """One proxied RTSP connection and the UDP legs its SETUPs created."""

    def __init__(self, relay, creader, cwriter):
        self.relay = relay
        self.creader, self.cwriter = creader, cwriter
        self.pending = {}  # CSeq -> (client ports, camera-facing legs, camera-facing port)
        self.legs = []
        self.impairs = []

    async def run(self):
        a = self.relay.args
        try:
            sreader, swriter = await asyncio.open_connection(HOST, a.camera_port)
        except OSError:
            self.cwriter.close()
            return
        self.swriter = swriter
        up = asyncio.ensure_future(self.pump(self.creader, swriter, self.on_request))
        down = asyncio.ensure_future(self.pump(sreader, self.cwriter, self.on_reply))
        await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
        for t in (up, down):
            t.cancel()
        for w in (swriter, self.cwriter):
            w.close()
        for leg in self.legs:
            leg.transport.close()

    async def pump(self, reader, writer, rewrite):
        """Copy RTSP messages and interleaved frames from reader to writer."""
        try:
            while True:
                first = await reader.readexactly(1)
                if first == b"$":
                    hdr = await reader.readexactly(3)
                    n = struct.unpack(">H", hdr[1:3])[0]
                    writer.write(first + hdr + await reader.readexactly(n))
                else:
                    head = first + await reader.readuntil(b"\r\n\r\n")
                    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                    body = await reader.readexactly(int(m.group(1))) if m else b""
                    head, body = await rewrite(head, body)
                    writer.write(head + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            return

    async def on_request(self, head, body):
        m = re.search(rb"(?im)^transport:[^\r\n]*client_port=(\d+)-(\d+)", head)
        if m and head.startswith(b"SETUP"):
            cseq = re.search(rb"(?im)^cseq:\s*(\d+)", head).group(1)
            port, legs = await udp_pair(asyncio.get_running_loop())
            self.legs += legs
            self.pending[cseq] = ((int(m.group(1)), int(m.group(2))), legs, port)
            head = head[:m.start(1)] + b"%d-%d" % (port, port + 1) + head[m.end(2):]
        return head, body

    async def on_reply(self, head, body):
        a = self.relay.args
        cam = b"%s:%d" % (HOST.encode(), a.camera_port)
        me = b"%s:%d" % (HOST.encode(), self.relay.port)
        head, body = head.replace(cam, me), body.replace(cam, me)
        if body:
            head = re.sub(rb"(?im)^(content-length:\s*)\d+", b"\\g<1>%d" % len(body), head)
        c = re.search(rb"(?im)^cseq:\s*(\d+)", head)
        setup = self.pending.pop(c.group(1), None) if c else None
        m = re.search(rb"(?im)^transport:[^\r\n]*server_port=(\d+)-(\d+)", head)
        if setup and m:
            head = await self.wire(setup, head, int(m.group(1)), int(m.group(2)))
        return head, body

    async def wire(self, setup, head, s_rtp, s_rtcp):
        """Create the vigil-facing legs and connect all four sockets."""
        (c_rtp, c_rtcp), cam_legs, cam_port = setup
        q, my_legs = await udp_pair(asyncio.get_running_loop())
        self.legs += my_legs
        to_vigil = (HOST, c_rtp), (HOST, c_rtcp)
        to_cam = (HOST, s_rtp), (HOST, s_rtcp)
        imp = Impair(self.relay.args, self.relay.rng, self.relay.stats,
                     lambda p: my_legs[0].transport.sendto(p, to_vigil[0]))
        self.impairs.append(imp)
        cam_legs[0].on_packet = lambda d, _a: imp.packet(d)
        cam_legs[1].on_packet = lambda d, _a: my_legs[1].transport.sendto(d, to_vigil[1])
        my_legs[0].on_packet = lambda d, _a: cam_legs[0].transport.sendto(d, to_cam[0])
        my_legs[1].on_packet = lambda d, _a: cam_legs[1].transport.sendto(d, to_cam[1])
        head = re.sub(rb"client_port=\d+-\d+", b"client_port=%d-%d" % (c_rtp, c_rtcp), head)
        head = re.sub(rb"server_port=\d+-\d+", b"server_port=%d-%d" % (q, q + 1), head)
        # The camera's "source=" (if any) would point vigil at the camera's own address.
        return re.sub(rb";source=[^;\r\n]*", b"", head)


class Relay:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.stats = Stats(args.log)
        self.sessions = []
        self.port = None

    async def main(self):
        server = await asyncio.start_server(self.accept, HOST, self.args.port)
        self.port = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: done.done() or done.set_result(None))
        loop.call_later(self.args.max_seconds, lambda: done.done() or done.set_result(None))
        asyncio.ensure_future(self.flusher())
        print("READY port=%d" % self.port, flush=True)
        await done
        server.close()
        s = self.stats
        print("EXIT forwarded=%d dropped=%d reordered=%d"
              % (s.forwarded, s.dropped, s.reordered), flush=True)
        if s.f:
            s.f.write("EXIT forwarded=%d dropped=%d reordered=%d\n"
                      % (s.forwarded, s.dropped, s.reordered))

    async def flusher(self):
        while True:
            await asyncio.sleep(0.2)
            for sess in self.sessions:
                for imp in sess.impairs:
                    imp.flush()

    async def accept(self, reader, writer):
        self.stats.note("CONN", 0)
        sess = Session(self, reader, writer)
        self.sessions.append(sess)
        try:
            await sess.run()
        finally:
            self.sessions.remove(sess)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--camera-port", type=int, required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--loss", type=float, default=0.02)
    ap.add_argument("--reorder", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log")
    ap.add_argument("--max-seconds", type=float, default=180)
    args = ap.parse_args(argv)
    asyncio.run(Relay(args).main())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
