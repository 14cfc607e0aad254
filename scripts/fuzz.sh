#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (+ASan/UBSan) in build-fuzz/ and runs
# each on its corpus for SECONDS seconds (default 60). Seeds: tests/data and,
# when present, ../shared/models. Findings (crash-*, leak-*, timeout-*) land in
# fuzz-out/<target>/ and make the script fail.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
TFLITE_ROOT=${SEALITE_TFLITE_ROOT:-$ROOT/.deps/tflite}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSEALITE_BUILD_FUZZ=ON -DSEALITE_BUILD_TESTS=OFF -DSEALITE_BUILD_BENCH=OFF \
  -DSEALITE_TFLITE_ROOT="$TFLITE_ROOT" >/dev/null
if [ ${#TARGETS[@]} -eq 0 ]; then
  for f in fuzz/*_fuzz.cc; do TARGETS+=("$(basename "${f%.cc}")"); done
fi
cmake --build build-fuzz -j "$(nproc)" --target "${TARGETS[@]}"
shared="$ROOT/../shared"
status=0
for t in "${TARGETS[@]}"; do
  corpus="fuzz-out/$t/corpus"
  mkdir -p "$corpus" "fuzz-out/$t/artifacts"
  case "$t" in
    tflite_reader_fuzz)
      cp -n tests/data/tflite/*.tflite "$corpus"/ 2>/dev/null || true
      [ -d "$shared/models" ] && cp -n "$shared"/models/*.tflite "$corpus"/ 2>/dev/null || true ;;
    checkpoint_fuzz)
      find tests/data -name '*.pth' -o -name '*.safetensors' | while read -r f; do cp -n "$f" "$corpus/$(echo "$f" | tr / _)"; done
      [ -d "$shared/fixtures" ] && for f in "$shared"/fixtures/videoseal/*/checkpoint.pth; do cp -n "$f" "$corpus/$(basename "$(dirname "$f")").pth"; done ;;
    image_fuzz)
      find tests/data -name '*.png' -o -name '*.jpg' -o -name '*.jpeg' | while read -r f; do cp -n "$f" "$corpus/$(echo "$f" | tr / _)"; done ;;
  esac
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s"
  ASAN_OPTIONS=detect_leaks=1 ./build-fuzz/fuzz/"$t" "$corpus" -max_total_time="$SECONDS_PER_TARGET" \
    -max_len=8388608 -rss_limit_mb=4096 -timeout=30 -artifact_prefix="fuzz-out/$t/artifacts/" \
    -print_final_stats=1 2>"fuzz-out/$t/log.txt" || status=1
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "fuzz-out/$t/log.txt" | sed "s/^/  $t: /" || true
  if [ "$status" -ne 0 ] || ls "fuzz-out/$t/artifacts/" | grep -q .; then
    echo "fuzz: $t found a problem, see fuzz-out/$t/" >&2
    tail -40 "fuzz-out/$t/log.txt" >&2
    status=1
  fi
done
exit $status
