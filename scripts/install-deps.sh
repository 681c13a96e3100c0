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
  python3 python3-gi python3-pytest python3-pytest-timeout python3-nacl python3-cryptography fonts-dejavu-core
  # browser tests and benchmark plots
  chromium libnss3-tools gnuplot-nox
)
# Node.js and npm from Debian, unless a node/npm is already installed (a
# second npm from Debian would conflict with it).
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

cd "$(dirname "$0")/.."
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
else
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages pinned by package-lock.json: playwright-core drives Debian's
# Chromium in the browser tests (the browser app itself needs no npm: its
# libsodium build is vendored in ui/vendor by scripts/vendor-ui.sh).
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
