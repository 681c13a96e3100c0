#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerates assets/demo-sub.mp4, the demo camera's substream
# (docs/design/recorder.md "Substreams"): the same picture as assets/demo.mp4
# scaled to 320x180, like a camera's second stream. 20 fps, 16 s, H.264
# Main, single slice, no B-frames, GOP 2 s (keyframes where the main
# stream's are), ~150 kbit/s, no audio, moov first.
set -eu
in=${1:-assets/demo.mp4}
out=${2:-assets/demo-sub.mp4}
ffmpeg -hide_banner -loglevel error -y -i "$in" \
  -vf "scale=320:180:flags=area" \
  -c:v libx264 -profile:v main -level 3.0 -pix_fmt yuv420p -preset medium \
  -x264-params "bframes=0:keyint=40:min-keyint=40:scenecut=0:sliced-threads=0:slices=1:threads=1" \
  -b:v 150k -maxrate 180k -bufsize 300k \
  -an -movflags +faststart -map_metadata -1 -fflags +bitexact \
  "$out"
