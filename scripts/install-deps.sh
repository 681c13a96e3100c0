#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what vigil needs to build, run and test on Debian 12, skipping
# what is already there. Needs root (or sudo) only when something is missing.
set -euo pipefail

PKGS=(
  # build
  build-essential pkg-config clang libclang-rt-14-dev
  libsodium-dev libsqlite3-dev libjansson-dev libmicrohttpd-dev libgnutls28-dev libssl-dev
  # tests: real cameras (gst-rtsp-server), file checks (ffprobe), runner
  ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gir1.2-gst-rtsp-server-1.0 gir1.2-gst-plugins-base-1.0
  python3 python3-gi python3-pytest fonts-dejavu-core
  # browser tests and benchmark plots
  chromium libnss3-tools nodejs npm gnuplot-nox
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
