#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Baseline peer pipeline for the latency benchmark: ffmpeg pulls the RTSP camera and
remuxes it (no re-encode) to fragmented MP4 with one frame per fragment; the bytes go
to the browser as one chunked HTTP response, which a minimal MSE page appends as they
arrive. No encryption, no framing: what "plain ffmpeg -> fMP4 -> MSE" costs.

    mseserve.py --rtsp URL --port P     GET /  the page;  GET /stream  the fMP4 stream
Prints "READY port=P" once listening. One stream per request (one ffmpeg each)."""
import argparse
import http.server
import os
import subprocess
import sys

PAGE = b"""<!doctype html><meta charset=utf-8><title>baseline</title>
<video id=v muted autoplay playsinline style="width:640px;height:360px"></video>
<script>
// The same live-edge rule as a simple live player: play as soon as there is data,
// jump to 0.1 s behind the newest frame when more than 0.5 s behind.
const v = document.getElementById('v'), ms = new MediaSource(), queue = [];
let sb = null;
v.src = URL.createObjectURL(ms);
function pump() {
  if (!sb || sb.updating || !queue.length) return;
  sb.appendBuffer(queue.shift());
}
function chase() {
  const b = v.buffered; if (!b.length) return;
  const end = b.end(b.length - 1);
  if (end - v.currentTime > 0.5 || v.currentTime < b.start(b.length - 1)) v.currentTime = Math.max(b.start(b.length - 1), end - 0.1);
  if (v.paused) v.play().catch(() => {});
}
ms.addEventListener('sourceopen', async () => {
  sb = ms.addSourceBuffer('video/mp4; codecs="avc1.42C01E"');
  sb.addEventListener('updateend', () => { chase(); pump(); });
  const r = await fetch('/stream', { cache: 'no-store' });
  const rd = r.body.getReader();
  for (;;) { const { value, done } = await rd.read(); if (done) break; queue.push(value); pump(); }
});
</script>"""


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--rtsp", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_a):
            pass

        def do_GET(self):
            if self.path == "/":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)
                return
            if self.path != "/stream":
                self.send_error(404)
                return
            cmd = ["ffmpeg", "-loglevel", "error", "-fflags", "nobuffer", "-flags", "low_delay",
                   "-rtsp_transport", "tcp", "-i", args.rtsp, "-an", "-c:v", "copy", "-f", "mp4",
                   "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "1",
                   "-flush_packets", "1", "pipe:1"]
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            fd = p.stdout.fileno()
            try:
                while True:
                    b = os.read(fd, 1 << 16)
                    if not b:
                        break
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                p.kill()
                p.wait()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), H)
    print("READY port=%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
