#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Glass-to-glass live latency: vigil's live view and a plain ffmpeg -> fMP4 -> MSE
# baseline, same time-code camera, real Chromium (bench/latency/latency.mjs).
#   bench/latency/run.sh [SECONDS]        (default 40 s measured per pipeline)
# Env: VIGIL_BIN (default build/release/vigil), MODES ("vigil,baseline"), AUDIO=1, OUT.
set -eu
cd "$(dirname "$0")/../.."
[ -x "${VIGIL_BIN:-build/release/vigil}" ] || make -j2
SECONDS_MEASURED="${1:-40}" OUT="${OUT:-bench/latency/results.json}" exec node bench/latency/latency.mjs
