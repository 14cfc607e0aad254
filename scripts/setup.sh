#!/usr/bin/env bash
# sealite set-up for a fresh Debian 12 machine: installs every dependency and builds.
#   - Debian packages (compiler, CMake, flatbuffers, yaml-cpp, libpng/libjpeg, FFmpeg, GoogleTest, ...)
#   - the TensorFlow Lite 2.9 C library from the npm package tfjs-tflite-node@0.0.2, unpacked into
#     .deps/tflite (ignored by git) and checked by sha256
#   - a Release build in build/ (the CLI is build/sealite)
# Options (environment): SEALITE_TFLITE_ROOT=/path to use another TFLite/LiteRT C library instead,
# BUILD_DIR (default build), SKIP_APT=1 to skip the package step.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}

TFLITE_NPM=tfjs-tflite-node@0.0.2
TFLITE_SO_SHA256=dc89b4cd86d956516570bd483668e6dd98907f49901d0567dedc69a29a56b7f7

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  flatbuffers-compiler libflatbuffers-dev libyaml-cpp-dev nlohmann-json3-dev
  libpng-dev libjpeg-dev zlib1g-dev
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  nodejs npm
)

if [ "${SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # npm may come with a non-Debian Node.js install; then the Debian one is not needed.
  if command -v npm >/dev/null 2>&1; then
    missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
  fi
  read -r -a missing <<<"${missing[*]}"
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    echo "setup: installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

if [ -z "${SEALITE_TFLITE_ROOT:-}" ]; then
  SEALITE_TFLITE_ROOT="$ROOT/.deps/tflite"
  so="$SEALITE_TFLITE_ROOT/lib/libtensorflowlite_c.so"
  if [ ! -f "$so" ] || ! echo "$TFLITE_SO_SHA256  $so" | sha256sum -c --status; then
    echo "setup: fetching $TFLITE_NPM from the npm registry"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "$TFLITE_NPM" >/dev/null)
    tar -xzf "$tmp"/tfjs-tflite-node-0.0.2.tgz -C "$tmp" package/cc_deps/include package/cc_deps/linux_amd64/libtensorflowlite_c.so
    got=$(sha256sum "$tmp/package/cc_deps/linux_amd64/libtensorflowlite_c.so" | cut -d' ' -f1)
    if [ "$got" != "$TFLITE_SO_SHA256" ]; then
      echo "setup: sha256 mismatch for libtensorflowlite_c.so: got $got, want $TFLITE_SO_SHA256" >&2
      exit 1
    fi
    rm -rf "$SEALITE_TFLITE_ROOT"
    mkdir -p "$SEALITE_TFLITE_ROOT/lib"
    cp -r "$tmp/package/cc_deps/include" "$SEALITE_TFLITE_ROOT/include"
    cp "$tmp/package/cc_deps/linux_amd64/libtensorflowlite_c.so" "$SEALITE_TFLITE_ROOT/lib/"
    echo "setup: TensorFlow Lite 2.9 C library in $SEALITE_TFLITE_ROOT (sha256 ok)"
  fi
fi

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEALITE_TFLITE_ROOT="$SEALITE_TFLITE_ROOT"
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "setup: done. CLI: $BUILD_DIR/sealite ; tests: ctest --test-dir $BUILD_DIR -j2 --output-on-failure"
