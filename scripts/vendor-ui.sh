#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copy the browser builds of npm dependencies into ui/vendor/ (served by vigil
# from a fixed table, src/web/static.c). Run after `npm ci`; commit the result.
# The ESM wrapper imports the bare name "libsodium-sumo"; browsers need a
# relative URL, so that one import is rewritten.
set -eu
cd "$(dirname "$0")/.."
src_w=node_modules/libsodium-wrappers-sumo/dist/modules-sumo-esm/libsodium-wrappers.mjs
src_s=node_modules/libsodium-sumo/dist/modules-sumo-esm/libsodium-sumo.mjs
test -f "$src_w" && test -f "$src_s" || { echo "run npm ci first" >&2; exit 1; }
mkdir -p ui/vendor
sed 's|from"libsodium-sumo"|from"./libsodium-sumo.mjs"|; s|from "libsodium-sumo"|from "./libsodium-sumo.mjs"|' "$src_w" > ui/vendor/libsodium-wrappers.mjs
grep -q 'libsodium-sumo.mjs' ui/vendor/libsodium-wrappers.mjs || { echo "import rewrite failed" >&2; exit 1; }
cp "$src_s" ui/vendor/libsodium-sumo.mjs
for f in LICENSE; do cp node_modules/libsodium-wrappers-sumo/$f ui/vendor/libsodium.LICENSE 2>/dev/null || true; done
ver=$(node -p 'require("./node_modules/libsodium-wrappers-sumo/package.json").version')
( cd ui/vendor && sha256sum libsodium-wrappers.mjs libsodium-sumo.mjs > SHA256SUMS && echo "libsodium-wrappers-sumo $ver" > VERSION )
echo "vendored libsodium-wrappers-sumo $ver into ui/vendor/"
