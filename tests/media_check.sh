#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Checks vigil's MP4 output with real tools: the unit test test_mp4 remuxes
# a source (with vg_fmp4_* and vg_mp4w_*) into /tmp/vg_media_frag.mp4 (init +
# fragments) and /tmp/vg_media_prog.mp4 (progressive); ffprobe must read
# them and ffmpeg must decode them without a single error. Run from the repo
# root after `make build/asan/tests/test_mp4`. Sources: the demo clip
# (H.264), and an H.265 + AAC clip made here with ffmpeg.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/asan/tests/test_mp4"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

check() { # label
    for f in /tmp/vg_media_frag.mp4 /tmp/vg_media_prog.mp4; do
        if ! ffprobe -v error -show_streams "$f" >"$tmp/probe" 2>"$tmp/err" || [ -s "$tmp/err" ]; then
            echo "FAIL $1: ffprobe $f"; cat "$tmp/err"; fail=1; continue
        fi
        if ! ffmpeg -nostdin -v error -i "$f" -f null - 2>"$tmp/err" || [ -s "$tmp/err" ]; then
            echo "FAIL $1: decode $f"; head -5 "$tmp/err"; fail=1; continue
        fi
        echo "ok   $1: $(basename "$f") $(grep -E '^codec_name=' "$tmp/probe" | tr '\n' ' ')"
    done
}

(cd "$root/tests/unit" && "$bin" >/dev/null 2>&1) || { echo "FAIL test_mp4"; exit 1; }
check "demo h264"

ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=25:duration=4 \
    -f lavfi -i sine=frequency=440:sample_rate=48000:duration=4 \
    -c:v libx265 -x265-params log-level=error:keyint=25:bframes=2 -c:a aac -b:a 64k \
    -shortest "$tmp/hevc_aac.mp4"
(cd "$root/tests/unit" && VG_MEDIA_IN="$tmp/hevc_aac.mp4" "$bin" >/dev/null 2>&1) \
    || { echo "FAIL test_mp4 (hevc+aac)"; exit 1; }
check "h265+aac (B-frames)"

ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=30:duration=3 \
    -f lavfi -i sine=frequency=440:sample_rate=44100:duration=3 \
    -c:v libx264 -profile:v high -bf 2 -g 30 -c:a aac -shortest "$tmp/avc_aac.mp4"
(cd "$root/tests/unit" && VG_MEDIA_IN="$tmp/avc_aac.mp4" "$bin" >/dev/null 2>&1) \
    || { echo "FAIL test_mp4 (h264 high+aac)"; exit 1; }
check "h264 high+aac (B-frames)"

exit $fail
