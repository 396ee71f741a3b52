#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` from the llama-cpp-python sdist that citebot pins, so the
# server runs the same llama.cpp as the in-process model. Prints the binary's path.
#
# The build goes into ~/.cache/citebot/llama-server-<version>-<flags hash>/ and is reused when
# present. Same AMX handling as scripts/install_llama.sh: on Intel CPUs whose /proc/cpuinfo lists
# AMX a VM may still refuse the tile instructions and K-quant models die with "Illegal
# instruction", so the native build keeps AVX2/AVX-512 and leaves only AMX out.
# About 12 minutes on 2 cores. Not part of `make test` or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml | head -n1)
test -n "$VERSION" || { echo "build_llama_server.sh: no llama-cpp-python==X pin in pyproject.toml" >&2; exit 2; }
PYTHON=${PYTHON:-.venv/bin/python}

source scripts/cpu_flags.sh  # sets CPU_FLAGS and EXTRA (the working folder is the checkout)
ARGS="-DLLAMA_BUILD_SERVER=ON -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}"
KEY=$(printf '%s|%s|%s|%s' "$VERSION" "$ARGS" "$EXTRA" "$CPU_FLAGS" | sha256sum | cut -c1-16)
DEST="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/citebot/llama-server-$VERSION-$KEY"

if [ -x "$DEST/bin/llama-server" ]; then
    echo "$DEST/bin/llama-server"
    exit 0
fi
echo "building llama-server from llama-cpp-python $VERSION (about 12 minutes on 2 cores)${EXTRA:+, without AMX}" >&2
WORK="$DEST.tmp"
rm -rf "$WORK" && mkdir -p "$WORK"
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: -d "$WORK" "llama-cpp-python==$VERSION"
tar -xzf "$WORK"/llama_cpp_python-"$VERSION".tar.gz -C "$WORK"
SRC="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"
# shellcheck disable=SC2086  # ARGS is a list of cmake flags
CFLAGS="${CFLAGS:-} $EXTRA" CXXFLAGS="${CXXFLAGS:-} $EXTRA" cmake -S "$SRC" -B "$WORK/build" $ARGS >&2
cmake --build "$WORK/build" --target llama-server -j "$(nproc)" >&2
mkdir -p "$WORK/bin"
cp "$WORK/build/bin/llama-server" "$WORK/bin/"
rm -rf "$WORK/build" "$WORK/llama_cpp_python-$VERSION" "$WORK"/*.tar.gz
rm -rf "$DEST" && mv "$WORK" "$DEST"   # published whole, so an interrupted build is redone
echo "$DEST/bin/llama-server"
