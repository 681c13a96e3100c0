#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""RTSP test camera for vigil's integration tests (gst-rtsp-server via python3-gi).

Serves a pre-encoded H.264/H.265 clip in an endless loop on 127.0.0.1. Nothing is
re-encoded: the clip's access units (AUs) are read into memory once and pushed into an
appsrc at the clip's frame rate, timestamped from the pipeline clock like a live camera.

Every client gets its own media pipeline (not shared), so every RTSP session has its own
frame counter and its own lines in the frames log. Each AU carries a tiny SEI message
(user_data_unregistered, ASCII "vigil-test s=<session> i=<index>") in front of its first
slice, so a test can read back from vigil's export exactly which camera frames it holds
(tests/integration/vstream.py). The SEI is legal H.264/H.265 and decoders ignore it.

Frames log (--log FILE), one line per event, whitespace separated, t = time.monotonic()
(CLOCK_MONOTONIC, comparable with the test process):
    SESSION <s> <t> configured|closed
    FRAME <s> <t> <index> <key 0|1> <pts_ns>     (an AU pushed into the session's pipeline)
    STALL <t> begin|end
    JUMP <s> <t> <offset_ns>                     (PTS offset added from here on)

Fault injection:
    --stall-at N --stall-for D   no media from N s after start for D s (connections stay open)
    --ts-jump-at N               N s after a session's first frame, add a large offset to the
                                 PTS (and therefore to the RTP timestamps), like a camera whose
                                 encoder restarted without dropping the RTSP session

Prints "READY port=P" on stdout once listening. Exits on SIGTERM/SIGINT and by itself after
--max-seconds.
"""
import argparse
import os
import signal
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

# Random but fixed; no 0x00 bytes, so the SEI never needs emulation prevention.
SEI_UUID = bytes.fromhex("5669676c2d546573742d4d61726b6572")  # "Vigl-Test-Marker"
SEI_TAG = b"vigil-test"


def split_nals(au):
    """Split an Annex B access unit into NAL units (without start codes)."""
    nals = []
    i, n, start = 0, len(au), None
    while i + 2 < n:
        if au[i] == 0 and au[i + 1] == 0 and au[i + 2] == 1:
            if start is not None:
                end = i
                # A 4-byte start code's leading zero belongs to the start code.
                while end > start and au[end - 1] == 0:
                    end -= 1
                nals.append(au[start:end])
            i += 3
            start = i
        else:
            i += 1
    if start is not None:
        nals.append(au[start:])
    return nals


def is_vcl(codec, nal):
    if codec == "h264":
        return 1 <= (nal[0] & 0x1F) <= 5
    return ((nal[0] >> 1) & 0x3F) < 32  # H.265 VCL NAL types are 0..31


def sei_nal(codec, session, index):
    text = SEI_TAG + b" s=%d i=%d" % (session, index)
    payload = SEI_UUID + text
    # payloadType 5 = user_data_unregistered (H.264 D.1.6, H.265 D.2.6); rbsp stop bit 0x80.
    body = bytes([5, len(payload)]) + payload + b"\x80"
    header = b"\x06" if codec == "h264" else b"\x4e\x01"  # H.265: prefix SEI (39), tid 1
    return header + body


def with_marker(codec, au, session, index):
    """Return `au` with our SEI inserted before its first VCL NAL."""
    out = []
    done = False
    for nal in split_nals(au):
        if not nal:
            continue
        if not done and is_vcl(codec, nal):
            out.append(sei_nal(codec, session, index))
            done = True
        out.append(nal)
    return b"".join(b"\x00\x00\x00\x01" + n for n in out)


def load_access_units(path, codec):
    """Return (list of (bytes, is_key), fps_num, fps_den, caps)."""
    parse = "h264parse" if codec == "h264" else "h265parse"
    desc = (
        "filesrc name=f ! qtdemux ! %s config-interval=-1 ! "
        "video/x-%s,stream-format=byte-stream,alignment=au ! "
        "appsink name=sink sync=false max-buffers=0 emit-signals=false" % (parse, codec)
    )
    pipe = Gst.parse_launch(desc)
    pipe.get_by_name("f").set_property("location", path)
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    aus, caps = [], None
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        if caps is None:
            caps = sample.get_caps()
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        if not ok:
            raise RuntimeError("cannot map buffer")
        aus.append((bytes(info.data), not buf.has_flags(Gst.BufferFlags.DELTA_UNIT)))
        buf.unmap(info)
    pipe.set_state(Gst.State.NULL)
    if not aus or caps is None:
        raise RuntimeError("no %s access units in %s" % (codec, path))
    ok, num, den = caps.get_structure(0).get_fraction("framerate")
    if not ok or num <= 0:
        num, den = 20, 1
    first_key = next(i for i, (_, k) in enumerate(aus) if k)
    aus = aus[first_key:] + aus[:first_key]  # the loop starts on a keyframe
    # Only the fields the payloader needs; the clip's caps may carry codec_data etc.
    s = caps.get_structure(0)
    simple = Gst.Caps.from_string(
        "video/x-%s,stream-format=byte-stream,alignment=au,width=%d,height=%d,framerate=%d/%d"
        % (codec, s.get_int("width")[1], s.get_int("height")[1], num, den))
    return aus, num, den, simple


class Log:
    """Line-buffered, thread-safe frames log (streaming threads write concurrently)."""

    def __init__(self, path):
        self.f = open(path, "a", buffering=1) if path else None
        self.lock = threading.Lock()

    def write(self, *fields):
        if self.f is None:
            return
        line = " ".join(str(x) for x in fields) + "\n"
        with self.lock:
            self.f.write(line)


class Camera:
    """State shared by all sessions: the clip, the clock of the run, the fault plan."""

    def __init__(self, args, aus, num, den, caps):
        self.args = args
        self.aus = aus
        self.period = den / num
        self.period_ns = Gst.SECOND * den // num
        self.caps = caps
        self.t_start = time.monotonic()
        self.log = Log(args.log)
        self.sessions = 0
        self.lock = threading.Lock()
        self.stalled = False

    def stall_window(self):
        if self.args.stall_at is None:
            return None
        b = self.t_start + self.args.stall_at
        return b, b + self.args.stall_for

    def next_session(self):
        # pid * 1000 + n: unique across camera restarts that append to the same log.
        with self.lock:
            self.sessions += 1
            return os.getpid() * 1000 + self.sessions

    def note_stall(self, now):
        """Log stall begin/end once, whichever session notices first."""
        w = self.stall_window()
        if w is None:
            return
        inside = w[0] <= now < w[1]
        with self.lock:
            if inside != self.stalled:
                self.stalled = inside
                self.log.write("STALL", "%.6f" % now, "begin" if inside else "end")


class Feeder:
    """Pushes AUs into one session's appsrc, paced by the monotonic clock.

    need-data runs on appsrc's streaming thread. It may wait (pacing, stall), but only in
    short slices while checking the pad's FLUSHING flag: a teardown deactivates the pad
    (setting FLUSHING) and then joins this thread, so a long sleep would hang teardown.
    """

    def __init__(self, cam, session, appsrc):
        self.cam = cam
        self.session = session
        self.appsrc = appsrc
        self.pad = appsrc.get_static_pad("src")
        self.sent = 0
        self.t0 = None        # monotonic time frame 0 was (or would have been) due
        self.t_first = None   # monotonic time of the first push (for --ts-jump-at)
        self.pts0 = None      # running time of frame 0
        self.skipped = 0      # frame periods skipped by resyncs (the media clock runs on)
        self.offset_ns = 0
        self.jumped = False

    def wait_until(self, due):
        while True:
            if self.pad.flags & Gst.PadFlags.FLUSHING:
                return False
            now = time.monotonic()
            w = self.cam.stall_window()
            self.cam.note_stall(now)
            if w is not None and w[0] <= now < w[1]:
                time.sleep(min(0.05, w[1] - now))
                continue
            if now >= due:
                return True
            time.sleep(min(0.05, due - now))

    def need_data(self, appsrc, length):
        try:
            self.feed(appsrc)
        except Exception:  # a bug here would otherwise just hang the stream silently
            import traceback
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(3)

    def feed(self, appsrc):
        now = time.monotonic()
        if self.t0 is None:
            self.t0 = self.t_first = now
        due = self.t0 + (self.sent + self.skipped) * self.cam.period
        if not self.wait_until(due):
            return
        now = time.monotonic()
        if now - due > 1.0:
            # Behind by more than a second (stall or overload): resume live, do not burst.
            lag = int((now - due) / self.cam.period)
            self.skipped += lag
            due += lag * self.cam.period
        a = self.cam.args
        if a.ts_jump_at is not None and not self.jumped and now - self.t_first >= a.ts_jump_at:
            self.jumped = True
            self.offset_ns = int(a.ts_jump_seconds * Gst.SECOND)
            self.cam.log.write("JUMP", self.session, "%.6f" % now, self.offset_ns)
        data, key = self.cam.aus[self.sent % len(self.cam.aus)]
        data = with_marker(a.codec, data, self.session, self.sent)
        buf = Gst.Buffer.new_wrapped(data)
        # Like an encoder: frame times are exact multiples of the frame period from the
        # first frame (so RTP timestamps step by exactly 4500 at 20 fps), anchored once to
        # the pipeline clock; plus the --ts-jump-at offset.
        if self.pts0 is None:
            clock = appsrc.get_clock()
            self.pts0 = 0
            if clock is not None:
                self.pts0 = max(0, clock.get_time() - appsrc.get_base_time())
        pts = self.pts0 + (self.sent + self.skipped) * self.cam.period_ns + self.offset_ns
        buf.pts = pts
        buf.dts = pts
        buf.duration = int(self.cam.period * Gst.SECOND)
        if not key:
            buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
        self.cam.log.write("FRAME", self.session, "%.6f" % now, self.sent, int(key), pts)
        self.sent += 1
        appsrc.emit("push-buffer", buf)


class Factory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, cam):
        super().__init__()
        self.cam = cam
        a = cam.args
        self.set_shared(False)
        protos = {"tcp": GstRtsp.RTSPLowerTrans.TCP,
                  "udp": GstRtsp.RTSPLowerTrans.UDP,
                  "both": GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP}
        self.set_protocols(protos[a.transport])
        pay = "rtph264pay" if a.codec == "h264" else "rtph265pay"
        # The queue decouples need-data's pacing from whatever downstream does (blocking
        # before PLAY, socket writes).
        launch = ("( appsrc name=src is-live=true format=time do-timestamp=false "
                  "! queue max-size-buffers=8 max-size-bytes=0 max-size-time=0 "
                  "! %s name=pay0 pt=96 config-interval=-1 mtu=1400 " % pay)
        if a.audio:
            # A live AAC track; encoding audio costs little, and AAC-in-RTP
            # (RFC 3640 mpeg4-generic) is what cameras send.
            launch += (" audiotestsrc is-live=true wave=sine freq=440 volume=0.3 "
                       "! audio/x-raw,rate=16000,channels=1 ! audioconvert "
                       "! voaacenc name=aenc bitrate=32000 ! rtpmp4gpay name=pay1 pt=97")
        self.set_launch(launch + " )")
        self.connect("media-configure", self.on_media_configure)

    def on_media_configure(self, _factory, media):
        session = self.cam.next_session()
        appsrc = media.get_element().get_by_name("src")
        appsrc.set_property("caps", self.cam.caps)
        # Keep at most a few frames queued: pacing belongs to need-data, not to a big queue.
        appsrc.set_property("max-buffers", 2)
        feeder = Feeder(self.cam, session, appsrc)
        appsrc.connect("need-data", feeder.need_data)
        # Keep the feeder alive as long as the media (the handler holds a reference too).
        media.vigil_feeder = feeder
        if self.cam.args.audio:
            # audiotestsrc answers "seekable"; the media would then try to seek on a PLAY
            # with a Range header, fail, and answer 503. A live camera cannot seek.
            pad = media.get_element().get_by_name("aenc").get_static_pad("sink")
            pad.add_probe(Gst.PadProbeType.QUERY_UPSTREAM, _not_seekable)
        self.cam.log.write("SESSION", session, "%.6f" % time.monotonic(), "configured")
        # gst-rtsp-server's RTP sinks sync on the clock; our feeder already paces in real
        # time, and with sync a --ts-jump-at PTS offset would make the sink wait an hour.
        media.get_element().get_parent().connect("deep-element-added", _no_sync)
        media.connect("unprepared", lambda _m: self.cam.log.write(
            "SESSION", session, "%.6f" % time.monotonic(), "closed"))


def _no_sync(_bin, _sub, element):
    # rtsp-stream turns "sync" on for its RTP sinks after adding them (and again on
    # transport changes), so undo it whenever it is set.
    f = element.get_factory()
    if f is not None and f.get_name() in ("appsink", "multiudpsink"):
        element.connect("notify::sync", _sync_off)
        _sync_off(element, None)


def _sync_off(element, _pspec):
    if element.get_property("sync"):
        element.set_property("sync", False)


def _not_seekable(_pad, info):
    q = info.get_query()
    if q is not None and q.type == Gst.QueryType.SEEKING:
        return Gst.PadProbeReturn.DROP  # query fails: "not seekable"
    return Gst.PadProbeReturn.OK


def make_auth(args, factory):
    if args.auth == "none":
        return None
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "user")
    if args.auth == "basic":
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
    else:
        auth.add_digest(args.user, args.password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    factory.add_role_from_structure(Gst.Structure.from_string(
        "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true")[0])
    return auth


def rtsp_server(port):
    """An RTSP server on 127.0.0.1:port (0: any free port)."""
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    return server


def serve(server, port, max_seconds):
    """Attaches the server, prints "READY port=N" and serves until SIGTERM, SIGINT or
    max_seconds; then ends the process (2 if it cannot listen)."""
    if server.attach(None) == 0:
        print("ERROR cannot listen on 127.0.0.1:%d" % port, flush=True)
        return 2

    loop = GLib.MainLoop()

    def stop(*_a):
        loop.quit()
        return GLib.SOURCE_REMOVE

    def session_cleanup():
        # Expired sessions (client vanished without TEARDOWN) are only dropped when asked.
        server.get_session_pool().cleanup()
        return GLib.SOURCE_CONTINUE

    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, stop)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, stop)
    GLib.timeout_add(int(max_seconds * 1000), stop)
    GLib.timeout_add(2000, session_cleanup)
    print("READY port=%d" % server.get_bound_port(), flush=True)
    loop.run()
    # Streaming threads may be mid-sleep; do not wait for them.
    sys.stdout.flush()
    os._exit(0)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clip", required=True)
    ap.add_argument("--codec", choices=["h264", "h265"], default="h264")
    ap.add_argument("--port", type=int, default=0, help="0: pick a free port")
    ap.add_argument("--path", default="/cam1")
    ap.add_argument("--transport", choices=["tcp", "udp", "both"], default="both")
    ap.add_argument("--auth", choices=["none", "basic", "digest"], default="none")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="")
    ap.add_argument("--audio", action="store_true")
    ap.add_argument("--fps", type=float, default=0, help="override the clip's frame rate")
    ap.add_argument("--log", help="frames log file (appended)")
    ap.add_argument("--stall-at", type=float)
    ap.add_argument("--stall-for", type=float, default=5.0)
    ap.add_argument("--ts-jump-at", type=float)
    ap.add_argument("--ts-jump-seconds", type=float, default=3600.0)
    ap.add_argument("--udp-ports", default="40000-49999",
                    help="server UDP port range (bound on 127.0.0.1)")
    ap.add_argument("--max-seconds", type=float, default=180)
    return ap.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    Gst.init(None)
    aus, num, den, caps = load_access_units(os.path.abspath(args.clip), args.codec)
    if args.fps > 0:
        num, den = int(round(args.fps * 1000)), 1000  # caps keep the clip's rate: informative only
    cam = Camera(args, aus, num, den, caps)

    server = rtsp_server(args.port)
    factory = Factory(cam)
    # Without an address pool the server binds its UDP ports to the wildcard address;
    # the pool keeps them on loopback.
    lo, hi = (int(x) for x in args.udp_ports.split("-"))
    pool = GstRtspServer.RTSPAddressPool()
    pool.add_range("127.0.0.1", "127.0.0.1", lo, hi, 0)
    factory.set_address_pool(pool)
    auth = make_auth(args, factory)
    if auth is not None:
        server.set_auth(auth)
    server.get_mount_points().add_factory(args.path, factory)
    return serve(server, args.port, args.max_seconds)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
