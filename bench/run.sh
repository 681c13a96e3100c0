#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Recording cost of vigil against its peers (ffmpeg as Frigate runs it, and
# GStreamer), measured by ../shared/nvrbench in the same run on the same
# machine. Writes raw RESULT lines to bench/results.log, a Markdown table to
# bench/table.md and the plot bench/cost.png (see bench/RESULTS.md).
#
#   bench/run.sh [--seconds S] [--ns "1 8 32 64"] [--peers "ffmpeg gst"] [--big 256]
#
# The exact vigil templates are in bench/nvrbench.template; they read the
# binary and the footage key from $VIGIL_BIN and $VIGIL_KEY.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
NVR="$ROOT/../shared/nvrbench"
SECS=40; NS="1 8 32 64"; PEERS="ffmpeg gst"; BIG=""
while (( $# )); do
  case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --ns) NS=$2; shift 2 ;;
    --peers) PEERS=$2; shift 2 ;;
    --big) BIG=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -d "$NVR" ] || { echo "need ../shared/nvrbench" >&2; exit 1; }
bash "$NVR/setup.sh" >/dev/null
make -j2 release >/dev/null || exit 1
export VIGIL_BIN="$ROOT/build/release/vigil"
WORK=$(mktemp -d /tmp/vigil-bench.XXXXXX)
export VIGIL_KEY="$WORK/owner.key"
"$VIGIL_BIN" keys new --out "$VIGIL_KEY" >/dev/null
REC=$(sed -n 's/^record: //p' bench/nvrbench.template)
EXP=$(sed -n 's/^export: //p' bench/nvrbench.template)
export NVRBENCH_RESULTS="$ROOT/bench/results.log"

wait_idle() { # the machine < 5 % busy for 3 s, as nvrbench/RESULTS.md did
  for _ in $(seq 1 30); do
    read -r _ a b c d e f g _ < /proc/stat; t1=$((a+b+c+d+e+f+g)); i1=$d; sleep 3
    read -r _ a b c d e f g _ < /proc/stat; t2=$((a+b+c+d+e+f+g)); i2=$d
    busy=$(( 100 - 100 * (i2-i1) / ( (t2-t1) > 0 ? (t2-t1) : 1 ) ))
    [ $busy -lt 5 ] && return 0
  done
}

for n in $NS; do
  for who in vigil $PEERS; do
    wait_idle
    echo "== $who N=$n S=$SECS"
    if [ "$who" = vigil ]; then
      bash "$NVR/ingest.sh" --recorder custom --label vigil --streams "$n" --seconds "$SECS" \
        --custom-cmd "$REC" --post-cmd "$EXP" | grep -E "^RESULT" || true
    else
      bash "$NVR/ingest.sh" --recorder "$who" --streams "$n" --seconds "$SECS" | grep -E "^RESULT" || true
    fi
  done
done
if [ -n "$BIG" ]; then
  wait_idle
  echo "== vigil N=$BIG S=$SECS"
  bash "$NVR/ingest.sh" --recorder custom --label vigil --streams "$BIG" --seconds "$SECS" \
    --custom-cmd "$REC" --post-cmd "$EXP" --verify none | grep -E "^RESULT" || true
fi
/usr/bin/python3 "$NVR/summarize.py" "$NVRBENCH_RESULTS" > bench/table.md 2>/dev/null || true
/usr/bin/python3 bench/plot.py "$NVRBENCH_RESULTS" bench/cost.png || true
rm -rf "$WORK"
