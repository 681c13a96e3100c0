#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerates assets/demo.mp4, the built-in demo camera's clip (src/media/filesrc.c).
# 640x360, 20 fps, 16 s, H.264 Main, single slice, no B-frames, GOP 2 s (40 frames),
# ~500 kbit/s, no audio, moov first (+faststart). testsrc2 with a running clock
# drawn by drawtext (fonts-dejavu-core). Single slice because GStreamer's
# rtph264pay corrupts multi-slice frames (ARCHITECTURE.md, test cameras).
set -eu
out=${1:-assets/demo.mp4}
font=/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf
[ -f "$font" ] || font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=640x360:rate=20:duration=16" \
  -vf "drawbox=x=0:y=300:w=640:h=60:color=black@0.55:t=fill,\
drawtext=fontfile=$font:text='vigil demo camera':x=16:y=316:fontsize=26:fontcolor=white,\
drawtext=fontfile=$font:text='%{pts\:hms}':x=w-tw-16:y=316:fontsize=26:fontcolor=white" \
  -c:v libx264 -profile:v main -level 3.0 -pix_fmt yuv420p -preset medium \
  -x264-params "bframes=0:keyint=40:min-keyint=40:scenecut=0:sliced-threads=0:slices=1:threads=1" \
  -b:v 500k -maxrate 600k -bufsize 1000k \
  -an -movflags +faststart -map_metadata -1 -fflags +bitexact \
  "$out"
