#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A time-code RTSP camera for the glass-to-glass latency benchmark (gst-rtsp-server).

Every frame is drawn in Python at the moment it is captured and carries that moment
(wall clock, ms since the Unix epoch) as a block code that survives H.264 compression:
a 16 x 4 grid of 32 x 32-pixel cells (macroblock-aligned, black = 0, white = 1) at
(CODE_X, CODE_Y), row-major, most significant bit first:
    48 bits  capture time in ms since the epoch
    16 bits  check = (sum of the three 16-bit words of the time) ^ 0xA55A, mod 2^16
The frame then goes through x264enc (tune=zerolatency, ultrafast, GOP = --gop) and
rtph264pay, like a camera's encoder. A moving bar under the code keeps the encoder busy
with real motion. The reader (probe.js) decodes the same layout.

Optional AAC audio (--audio): a live sine tone, like tests/integration/camera.py.
Prints "READY port=P" once listening; exits on SIGTERM/SIGINT or after --max-seconds.
"""
import argparse
import os
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtsp, GstRtspServer  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "integration"))
from camera import rtsp_server, serve  # noqa: E402

CELL, COLS, ROWS = 32, 16, 4
CODE_X, CODE_Y = 64, 64
BLACK, WHITE, GRAY = 16, 235, 128


def code_bits(ms):
    words = [(ms >> 32) & 0xFFFF, (ms >> 16) & 0xFFFF, ms & 0xFFFF]
    check = (sum(words) & 0xFFFF) ^ 0xA55A
    v = ((ms & ((1 << 48) - 1)) << 16) | check
    return [(v >> (63 - i)) & 1 for i in range(64)]


class Painter:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.uv = bytes([128]) * ((w // 2) * (h // 2) * 2)
        self.gray_row = bytes([GRAY]) * w

    def frame(self, ms, n):
        w, h = self.w, self.h
        bits = code_bits(ms)
        rows = []
        for y in range(CODE_Y):
            rows.append(self.gray_row)
        for r in range(ROWS):
            line = bytearray(self.gray_row)
            for c in range(COLS):
                x = CODE_X + c * CELL
                line[x:x + CELL] = bytes([WHITE if bits[r * COLS + c] else BLACK]) * CELL
            rows.extend([bytes(line)] * CELL)
        bar_x = (n * 8) % (w - 64)
        bar = bytearray(self.gray_row)
        bar[bar_x:bar_x + 64] = bytes([WHITE]) * 64
        bar = bytes(bar)
        y = CODE_Y + ROWS * CELL
        while y < h:
            rows.append(bar if 224 <= y < 288 else self.gray_row)
            y += 1
        return b"".join(rows) + self.uv


class Feeder:
    def __init__(self, args, appsrc):
        self.args, self.appsrc = args, appsrc
        self.painter = Painter(args.width, args.height)
        self.period = 1.0 / args.fps
        self.n = 0
        self.t0 = None

    def need_data(self, appsrc, _length):
        # Pace in real time: a frame is "captured" when its time comes, stamped then.
        now = time.monotonic()
        if self.t0 is None:
            self.t0 = now
        due = self.t0 + self.n * self.period
        if due > now:
            time.sleep(due - now)
        ms = int(time.time() * 1000)
        data = self.painter.frame(ms, self.n)
        buf = Gst.Buffer.new_wrapped(data)
        buf.pts = int(self.n * self.period * Gst.SECOND)
        buf.duration = int(self.period * Gst.SECOND)
        self.n += 1
        appsrc.emit("push-buffer", buf)


class Factory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, args):
        super().__init__()
        self.args = args
        self.set_shared(True)
        a = args
        launch = ("( appsrc name=src is-live=true format=time do-timestamp=false "
                  "caps=video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1 "
                  "! queue max-size-buffers=2 max-size-bytes=0 max-size-time=0 "
                  "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=%d bitrate=%d threads=1 sliced-threads=false "
                  "! video/x-h264,profile=constrained-baseline "
                  "! rtph264pay name=pay0 pt=96 config-interval=-1 mtu=1400 "
                  % (a.width, a.height, int(a.fps), a.gop, a.kbps))
        if a.audio:
            launch += (" audiotestsrc is-live=true wave=sine freq=440 volume=0.3 "
                       "! audio/x-raw,rate=16000,channels=1 ! audioconvert "
                       "! voaacenc name=aenc bitrate=32000 ! rtpmp4gpay name=pay1 pt=97")
        self.set_launch(launch + " )")
        self.connect("media-configure", self.on_media_configure)

    def on_media_configure(self, _factory, media):
        appsrc = media.get_element().get_by_name("src")
        appsrc.set_property("max-buffers", 2)
        feeder = Feeder(self.args, appsrc)
        appsrc.connect("need-data", feeder.need_data)
        media.vigil_feeder = feeder
        if self.args.audio:
            pad = media.get_element().get_by_name("aenc").get_static_pad("sink")
            pad.add_probe(Gst.PadProbeType.QUERY_UPSTREAM, _not_seekable)
        media.get_element().get_parent().connect("deep-element-added", _no_sync)


def _no_sync(_bin, _sub, element):
    f = element.get_factory()
    if f is not None and f.get_name() in ("appsink", "multiudpsink"):
        element.connect("notify::sync", lambda e, _p: e.get_property("sync") and e.set_property("sync", False))
        element.set_property("sync", False)


def _not_seekable(_pad, info):
    q = info.get_query()
    if q is not None and q.type == Gst.QueryType.SEEKING:
        return Gst.PadProbeReturn.DROP
    return Gst.PadProbeReturn.OK


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--path", default="/tc")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--gop", type=int, default=30)
    ap.add_argument("--kbps", type=int, default=1500)
    ap.add_argument("--audio", action="store_true")
    ap.add_argument("--max-seconds", type=float, default=600)
    args = ap.parse_args(argv)
    Gst.init(None)
    server = rtsp_server(args.port)
    factory = Factory(args)
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)  # TCP (interleaved): no UDP loss or reordering in the numbers
    server.get_mount_points().add_factory(args.path, factory)
    return serve(server, args.port, args.max_seconds)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
