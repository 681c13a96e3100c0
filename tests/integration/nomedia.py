# SPDX-License-Identifier: Apache-2.0
"""Checks that bytes are not readable media (docs/security.md P1, P15).

One module for every "no plaintext" test: footage at rest (test_faults.py), the live
stream (tests/web/test_live.py) and everything the web server sends a browser
(tests/web/test_wire.py). Each check returns a list of problems (empty = passed) so a
test can report every failure at once; none of them decrypts anything.

- boxes_at(data, starts): an ISO BMFF box header (4-byte size + a known type) parses at
  one of the given offsets (the start of a response body, of an envelope's ciphertext);
- boxes_anywhere(data): the same at any offset (a size that fits in the data);
- entropy(data): Shannon entropy in bits/byte;
- keyframe_windows(codec): every 16-byte window of the test clip's IDR slice NAL units,
  taken from the clip file with ffmpeg (the camera serves it without re-encoding), never
  from vigil's decryption;
- first_window(data, wins): the first offset of such a window in data, or None;
- ffprobe_streams(path): the streams ffprobe finds in a file.
"""
import json
import math
import os
import re
import struct
import subprocess
from collections import Counter

import clips

# Top-level and common ISO/IEC 14496-12 box types: any of them at a fragment's start
# would mean a fragment left the recorder in the clear.
BOX_TYPES = (b"ftyp", b"styp", b"moov", b"moof", b"mdat", b"sidx", b"free", b"skip", b"emsg",
             b"trak", b"mvhd", b"mfra", b"prft", b"uuid", b"meta", b"mvex", b"traf", b"tfdt")
MIN_ENTROPY = 7.99
WINDOW = 16

ENV_HDR = 76
SEGHDR = 216
TRAILER = 104


def box_at(data, off):
    """True if a box header with a known type parses at data[off:]."""
    if off < 0 or off + 8 > len(data):
        return False
    if data[off + 4:off + 8] not in BOX_TYPES:
        return False
    size = struct.unpack(">I", data[off:off + 4])[0]
    # size 0 = to the end, 1 = 64-bit size follows: both parse.
    return size in (0, 1) or size >= 8


def boxes_at(data, starts, what):
    return ["%s: an MP4 %r box header at offset %d" % (what, data[s + 4:s + 8], s)
            for s in starts if box_at(data, s)]


def boxes_anywhere(data, what):
    """Offsets where a box header (known type, a size that fits) would parse."""
    hits = []
    for t in BOX_TYPES:
        for m in re.finditer(re.escape(t), data):
            p = m.start() - 4
            if p < 0:
                continue
            size = int.from_bytes(data[p:p + 4], "big")
            if size == 1 or 8 <= size <= len(data) - p:
                hits.append((p, t))
    return ["%s: MP4 box headers %r" % (what, sorted(hits)[:5])] if hits else []


def entropy(data):
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


def check_entropy(data, what, min_bytes=1 << 20):
    if len(data) < min_bytes:
        return ["%s: only %d bytes (want at least %d for the entropy check)" % (what, len(data), min_bytes)]
    h = entropy(data)
    return [] if h >= MIN_ENTROPY else ["%s: entropy %.4f bits/byte < %.2f" % (what, h, MIN_ENTROPY)]


_WINDOWS = {}


def keyframe_windows(codec="h264", width=WINDOW, clip=None):
    """Every `width`-byte window of the clip's keyframe (IDR) slice NALs (the test
    camera's clip, or the given file, e.g. the demo camera's assets/demo.mp4)."""
    clip = clip or clips.clip_path(codec)
    if (clip, width) in _WINDOWS:
        return _WINDOWS[(clip, width)]
    bsf = "h264_mp4toannexb" if codec == "h264" else "hevc_mp4toannexb"
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", clip, "-c", "copy",
                          "-bsf:v", bsf, "-f", codec, "-"], capture_output=True, check=True,
                         timeout=60).stdout
    import camera as camtool  # the same NAL splitter the camera uses
    wins = set()
    for nal in camtool.split_nals(raw):
        if not nal:
            continue
        idr = (nal[0] & 0x1F) == 5 if codec == "h264" else 16 <= ((nal[0] >> 1) & 0x3F) <= 21
        if idr:
            wins.update(nal[i:i + width] for i in range(0, len(nal) - width + 1))
    assert len(wins) > 10000
    _WINDOWS[(clip, width)] = wins
    return wins


def first_window(data, wins, width=WINDOW):
    """Offset of the first `width`-byte window of data that is in wins, or None."""
    for i in range(len(data) - width + 1):
        if data[i:i + width] in wins:
            return i
    return None


def check_windows(data, wins, what):
    at = first_window(data, wins)
    return [] if at is None else ["%s: keyframe bytes in the clear at offset %d" % (what, at)]


def ffprobe_streams(path):
    """Streams ffprobe recognises in the file ([] = none: not media to it)."""
    r = subprocess.run(["ffprobe", "-v", "quiet", "-of", "json", "-show_streams", path],
                       capture_output=True, timeout=60)
    try:
        return json.loads(r.stdout or b"{}").get("streams", [])
    except ValueError:
        return []


def check_ffprobe(data, path, what):
    with open(path, "wb") as f:
        f.write(data)
    streams = ffprobe_streams(path)
    return ["%s: ffprobe finds %s" % (what, [(s.get("codec_type"), s.get("codec_name")) for s in streams])] \
        if streams else []


def envelope_starts(data, off=0):
    """Offsets of the ciphertext of each whole envelope laid end to end from off."""
    out = []
    while off + ENV_HDR <= len(data) and data[off:off + 4] == b"VGE\x01":
        ct = struct.unpack(">I", data[off + 72:off + 76])[0]
        if off + ENV_HDR + ct > len(data):
            break
        out.append(off + ENV_HDR)
        off += ENV_HDR + ct
    return out, off


def check_not_media(data, what, wins, tmp_dir, starts=(), entropy_min_bytes=1 << 20):
    """Every check at once on one capture; entropy_min_bytes=None skips entropy."""
    problems = boxes_at(data, [0] + list(starts), what)
    problems += boxes_anywhere(data, what)
    problems += check_ffprobe(data, os.path.join(tmp_dir, re.sub(r"[^\w.-]+", "_", what) + ".bin"), what)
    if entropy_min_bytes is not None:
        problems += check_entropy(data, what, entropy_min_bytes)
    problems += check_windows(data, wins, what)
    return problems
