# SPDX-License-Identifier: Apache-2.0
"""Test clips for the RTSP test camera, made once with ffmpeg and cached.

Why these settings:
- single slice per frame: GStreamer 1.22's rtph264pay config-interval=-1 corrupts
  multi-slice frames (ARCHITECTURE.md, "Notes on test cameras");
- no B-frames: decode order == presentation order, so "frame index" means the same
  thing to the camera, to vigil and to ffprobe;
- GOP 20 at 20 fps: a keyframe every second, so tests see several fragments quickly;
- temporal noise: keeps the bitrate near the target (testsrc2 alone compresses to
  almost nothing), so the encryption test has > 1 MiB of footage in a few seconds.
"""
import os
import subprocess

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(REPO, "build", "test-clips")

# name -> (file name, ffmpeg video encoder arguments)
_CLIPS = {
    "h264": ("h264_640x360_20fps_gop20_v2.mp4", [
        "-c:v", "libx264", "-profile:v", "main", "-pix_fmt", "yuv420p", "-preset", "veryfast",
        "-x264-params",
        "bframes=0:keyint=20:min-keyint=20:scenecut=0:sliced-threads=0:slices=1:threads=1",
        "-b:v", "2000k", "-maxrate", "2400k", "-bufsize", "2000k",
    ]),
    "h265": ("h265_640x360_20fps_gop20_v2.mp4", [
        "-c:v", "libx265", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-tag:v", "hvc1",
        "-x265-params",
        "bframes=0:keyint=20:min-keyint=20:scenecut=0:repeat-headers=1:slices=1:"
        "frame-threads=1:pools=1:log-level=error",
        "-b:v", "1000k",
    ]),
}


def clip_path(kind):
    """Return the path of clip `kind` ("h264" or "h265"), encoding it if missing."""
    name, venc = _CLIPS[kind]
    path = os.path.join(CACHE, name)
    if os.path.exists(path):
        return path
    os.makedirs(CACHE, exist_ok=True)
    tmp = path + ".part.%d.mp4" % os.getpid()
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
           "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=20:duration=10",
           "-vf", "noise=alls=12:allf=t", *venc,
           "-an", "-movflags", "+faststart", "-map_metadata", "-1", tmp]
    subprocess.run(cmd, check=True, timeout=300)
    # rename is atomic: concurrent test runs never see a half-written clip.
    os.replace(tmp, path)
    return path
