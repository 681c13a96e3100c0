#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One command from a fresh Debian 12 machine to a running vigil recording its
# built-in demo camera: install what is missing, build, make a footage key
# (kept outside the data directory: the recorder gets only the public half),
# and run. Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
make -j"$(nproc)" release
DATA="${VIGIL_DATA:-$HOME/vigil-data}"
KEY="${VIGIL_KEY:-$HOME/vigil-owner.key}"
[ -f "$KEY" ] || ./build/release/vigil keys new --out "$KEY"
echo "Recording the demo camera into $DATA. The web app is at https://127.0.0.1:8443"
echo "(a self-signed certificate made at first start); the first start prints a one-time"
echo "setup link below. In another terminal:"
echo "  ./build/release/vigil status --data $DATA"
echo "  ./build/release/vigil export --data $DATA --key $KEY --camera demo --out demo.mp4"
exec ./build/release/vigil run --data "$DATA" --camera-key "$KEY.pub" "$@"
