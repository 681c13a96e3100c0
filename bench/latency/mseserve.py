#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Baseline peer pipeline for the latency benchmark: ffmpeg pulls the RTSP camera and
remuxes it (no re-encode) to fragmented MP4 with one frame per fragment; the bytes go
to the browser as one chunked HTTP response, which a minimal MSE page appends as they
arrive. No encryption, no framing: what "plain ffmpeg -> fMP4 -> MSE" costs. The page
plays it with vigil's own player (ui/player.js), so the two differ only in the path.

    mseserve.py --rtsp URL --port P     GET /  the page;  GET /stream  the fMP4 stream
Prints "READY port=P" once listening. One stream per request (one ffmpeg each)."""
import argparse
import http.server
import os
import subprocess
import sys

UI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "ui")

PAGE = b"""<!doctype html><meta charset=utf-8><title>baseline</title>
<video id=v muted autoplay playsinline style="width:640px;height:360px"></video>
<script type=module>
// vigil's own MSE player (ui/player.js, live mode: same live-edge policy), fed the
// ffmpeg byte stream split into top-level boxes: ftyp+moov = init, moof+mdat = fragment.
import { MsePlayer } from '/ui/player.js';
const player = new MsePlayer(document.getElementById('v'), { live: true });
let buf = new Uint8Array(0), init = null, frag = [];
const r = await fetch('/stream', { cache: 'no-store' });
const rd = r.body.getReader();
for (;;) {
  const { value, done } = await rd.read();
  if (done) break;
  const n = new Uint8Array(buf.length + value.length); n.set(buf); n.set(value, buf.length); buf = n;
  let o = 0;
  while (buf.length - o >= 8) {
    const size = new DataView(buf.buffer, buf.byteOffset + o).getUint32(0);
    const type = String.fromCharCode(...buf.subarray(o + 4, o + 8));
    if (size < 8 || buf.length - o < size) break;
    const box = buf.slice(o, o + size); o += size;
    if (type === 'ftyp') init = [box];
    else if (type === 'moov') { init.push(box); await player.setInit(concat(init)); player.base(0); }
    else if (type === 'moof') frag = [box];
    else if (type === 'mdat') { frag.push(box); player.append(concat(frag)); }
  }
  buf = buf.slice(o);
}
function concat(parts) { const n = new Uint8Array(parts.reduce((a, p) => a + p.length, 0)); let o = 0; for (const p of parts) { n.set(p, o); o += p.length; } return n; }
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
            if self.path in ("/ui/player.js", "/ui/mp4.js"):
                body = open(os.path.join(UI, self.path[4:]), "rb").read()
                self.send_response(200)
                self.send_header("Content-Type", "text/javascript")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
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
