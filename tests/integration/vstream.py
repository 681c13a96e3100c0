# SPDX-License-Identifier: Apache-2.0
"""Reading back what the test camera sent and what a recording holds.

The camera (camera.py) marks every access unit with an SEI "vigil-test s=<session>
i=<index>" and logs every AU it pushes. These helpers parse that log, pull the markers out
of an MP4 (in sample order), and run ffprobe/ffmpeg checks on a file.
"""
import json
import re
import subprocess
from dataclasses import dataclass, field

MARK_RE = re.compile(rb"vigil-test s=(\d+) i=(\d+)")


@dataclass
class Frame:
    session: int
    t: float
    index: int
    key: bool
    pts: int


@dataclass
class CamLog:
    frames: list = field(default_factory=list)
    sessions: dict = field(default_factory=dict)  # session -> {"configured": t, "closed": t}
    stalls: list = field(default_factory=list)    # (t, "begin"|"end")
    jumps: list = field(default_factory=list)     # (session, t, offset_ns)

    def session_frames(self, session):
        return [f for f in self.frames if f.session == session]

    def by_key(self):
        return {(f.session, f.index): f for f in self.frames}


def read_camlog(path):
    log = CamLog()
    with open(path) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "FRAME":
                log.frames.append(Frame(int(p[1]), float(p[2]), int(p[3]), p[4] == "1", int(p[5])))
            elif p[0] == "SESSION":
                log.sessions.setdefault(int(p[1]), {})[p[3]] = float(p[2])
            elif p[0] == "STALL":
                log.stalls.append((float(p[1]), p[2]))
            elif p[0] == "JUMP":
                log.jumps.append((int(p[1]), float(p[2]), int(p[3])))
    return log


def markers(mp4, codec, timeout=60):
    """Return the camera markers [(session, index), ...] of mp4's video samples, in order.

    Copies the video track to Annex B (no decode) and scans for the SEI text; each sample
    carries exactly one marker.
    """
    bsf = "h264_mp4toannexb" if codec == "h264" else "hevc_mp4toannexb"
    fmt = "h264" if codec == "h264" else "hevc"
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", mp4, "-map", "0:v:0", "-c", "copy", "-bsf:v", bsf,
         "-f", fmt, "-"], capture_output=True, timeout=timeout, check=True).stdout
    return [(int(m.group(1)), int(m.group(2))) for m in MARK_RE.finditer(out)]


def probe(path, timeout=60):
    """ffprobe summary: streams with codec, size and counted packets."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-show_entries",
         "stream=index,codec_type,codec_name,width,height,nb_read_packets:format=duration",
         "-of", "json", path], capture_output=True, timeout=timeout, check=True, text=True)
    return json.loads(out.stdout)


def video_stream(info):
    vs = [s for s in info["streams"] if s.get("codec_type") == "video"]
    assert len(vs) == 1, "expected one video stream, got %r" % info["streams"]
    return vs[0]


def decode_errors(path, timeout=120):
    """Decode every frame of every stream; return the decoders' error lines (empty = clean).

    ffprobe decodes without a muxer. `ffmpeg -f null` would re-time frames to a guessed
    constant rate, and an export spanning a gap (variable frame rate) then yields "non
    monotonically increasing dts" lines that are not decoding errors."""
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "frame=pict_type",
                        "-of", "csv", path],
                       capture_output=True, timeout=timeout, text=True)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    if r.returncode != 0:
        lines.append("ffmpeg exit %d" % r.returncode)
    return lines
