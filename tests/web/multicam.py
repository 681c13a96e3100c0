#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Many RTSP test cameras in one process, each with a main stream and a substream.

Serves /camK/main and /camK/sub (K = 1..N) on 127.0.0.1 from two pre-encoded H.264
clips (nothing is encoded here: a 16-camera test must leave the CPU to vigil and
Chromium). Each clip's access units are read into memory once and pushed into an
appsrc per RTSP session at the clip's frame rate, looping, with timestamps that keep
growing across loops (like a live camera). Both streams of a camera share one account
(--user/--password, digest auth when given), as real cameras do.

Prints "READY port=P" on stdout once listening; exits on SIGTERM/SIGINT or after
--max-seconds.
"""
import argparse
import os
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtsp, GstRtspServer  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from camera import _no_sync, load_access_units, rtsp_server, serve  # noqa: E402


class Feeder:
    """One session's appsrc, fed in real time (need-data runs on its streaming thread and
    sleeps only in short slices, so a teardown never waits long for it)."""

    def __init__(self, clip, appsrc):
        self.clip = clip
        self.pad = appsrc.get_static_pad("src")
        self.sent = 0
        self.t0 = None
        self.pts0 = None

    def need_data(self, appsrc, _length):
        aus, period, period_ns = self.clip
        now = time.monotonic()
        if self.t0 is None:
            self.t0 = now
            clock = appsrc.get_clock()
            self.pts0 = max(0, clock.get_time() - appsrc.get_base_time()) if clock is not None else 0
        due = self.t0 + self.sent * period
        while now < due:
            if self.pad.flags & Gst.PadFlags.FLUSHING:
                return
            time.sleep(min(0.05, due - now))
            now = time.monotonic()
        if now - due > 1.0:   # overloaded or paused: resume live, do not burst
            self.t0 += (now - due)
        data, key = aus[self.sent % len(aus)]
        buf = Gst.Buffer.new_wrapped(data)
        buf.pts = buf.dts = self.pts0 + self.sent * period_ns
        buf.duration = period_ns
        if not key:
            buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
        self.sent += 1
        appsrc.emit("push-buffer", buf)


class Factory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, clip, caps):
        super().__init__()
        self.clip, self.caps = clip, caps
        self.set_shared(False)
        self.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
        self.set_launch("( appsrc name=src is-live=true format=time do-timestamp=false "
                        "! queue max-size-buffers=8 max-size-bytes=0 max-size-time=0 "
                        "! rtph264pay name=pay0 pt=96 config-interval=-1 mtu=1400 )")
        self.connect("media-configure", self.on_media_configure)

    def on_media_configure(self, _factory, media):
        appsrc = media.get_element().get_by_name("src")
        appsrc.set_property("caps", self.caps)
        appsrc.set_property("max-buffers", 2)
        feeder = Feeder(self.clip, appsrc)
        appsrc.connect("need-data", feeder.need_data)
        media.vigil_feeder = feeder
        media.get_element().get_parent().connect("deep-element-added", _no_sync)


def load(path):
    aus, num, den, caps = load_access_units(os.path.abspath(path), "h264")
    return (aus, den / num, Gst.SECOND * den // num), caps


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--main", required=True, help="main stream clip (MP4, H.264)")
    ap.add_argument("--sub", required=True, help="substream clip (MP4, H.264)")
    ap.add_argument("--cameras", type=int, default=16)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--max-seconds", type=float, default=300)
    a = ap.parse_args(argv)
    Gst.init(None)
    streams = {"main": load(a.main), "sub": load(a.sub)}
    server = rtsp_server(a.port)
    if a.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        auth.add_digest(a.user, a.password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        server.set_auth(auth)
    mounts = server.get_mount_points()
    for k in range(1, a.cameras + 1):
        for kind, (clip, caps) in streams.items():
            f = Factory(clip, caps)
            if a.user:
                f.add_role_from_structure(Gst.Structure.from_string(
                    "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true")[0])
            mounts.add_factory("/cam%d/%s" % (k, kind), f)
    return serve(server, a.port, a.max_seconds)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
