#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One command from a fresh Debian 12 machine to every test passing:
# install what is missing, build (release + ASan/UBSan + fuzzers), then run
# unit tests (ASan/UBSan), a short run of every fuzz target, and the
# integration suites against real peers (gst-rtsp-server cameras, ffprobe,
# Chromium) using the ASan/UBSan binary. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
bash scripts/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }

pass=0; fail=0
stage() { echo; echo "=== $* ==="; }
count() { # count NAME RC
  if [ "$2" -eq 0 ]; then pass=$((pass+1)); echo "PASS $1"; else fail=$((fail+1)); echo "FAIL $1"; fi
}

stage build
make -j2 release asan || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

stage "unit tests (ASan+UBSan)"
make -j2 $(ls tests/unit/test_*.c | sed 's#tests/unit/\(.*\)\.c#build/asan/tests/\1#') || fail=$((fail+1))
for t in build/asan/tests/test_*; do
  [ -x "$t" ] || continue
  out=$(cd tests/unit && timeout 300 "../../$t" 2>&1); rc=$?
  echo "$out" | grep -E "^(FAIL|  )" || true
  line=$(echo "$out" | grep -E "^[0-9]+ passed, [0-9]+ failed" | tail -1)
  if [ -n "$line" ] && [ $rc -eq 0 ]; then
    pass=$((pass + $(echo "$line" | cut -d' ' -f1))); echo "PASS $(basename "$t"): $line"
  else
    echo "$out" | tail -20
    fail=$((fail+1)); echo "FAIL $(basename "$t") (rc=$rc)"
  fi
done

stage "media files checked by ffprobe/ffmpeg"
sh tests/media_check.sh; count media_check $?

stage "fuzz targets (short runs)"
FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
if make -j2 fuzz; then
  for f in build/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    corpus="tests/fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    args=("$work")
    [ -d "$corpus" ] && args+=("$corpus")
    timeout $((FUZZ_SECONDS + 60)) "$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
      -timeout=10 -print_final_stats=0 "${args[@]}" > "build/fuzz/$name.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || tail -30 "build/fuzz/$name.log"
    count "$name" $rc
    rm -rf "$work"
  done
else
  fail=$((fail+1)); echo "FAIL fuzz build"
fi

for suite in tests/integration tests/web; do
  [ -d "$suite" ] || continue
  stage "$suite (pytest, real peers, ASan+UBSan binary)"
  xml="build/$(basename "$suite")-junit.xml"
  VIGIL_BIN="$ROOT/build/asan/vigil" timeout 1500 /usr/bin/python3 -m pytest "$suite" -q \
    -p no:cacheprovider --junitxml="$xml"
  rc=$?
  if [ -f "$xml" ]; then
    read -r p f < <(/usr/bin/python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else list(r)
t = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - bad - sk, bad)
PY
)
    pass=$((pass+p)); fail=$((fail+f))
    # pytest exit 5 = no tests collected; anything else non-zero without counted failures is a harness error.
    if [ $rc -ne 0 ] && [ $rc -ne 5 ] && [ "$f" -eq 0 ]; then fail=$((fail+1)); fi
  else
    fail=$((fail+1)); echo "FAIL $suite: no report (rc=$rc)"
  fi
done

echo
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
