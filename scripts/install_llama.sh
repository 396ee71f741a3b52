#!/usr/bin/env bash
# Builds llama-cpp-python for this CPU and installs it into the given Python environment.
#
# Why a script: llama.cpp is compiled with -march=native, and on Intel CPUs whose
# /proc/cpuinfo lists AMX a VM may still refuse the AMX tile instructions: K-quant models
# (what users download) then die with "Illegal instruction" in llama_decode. We keep the
# native build (AVX2/AVX-512 and the repacked-weight kernels) and leave only AMX out.
# pip caches built wheels by version, not by compiler flags, so the wheel is built with
# --no-cache-dir into a cache folder keyed by version, flags and CPU, and installed from there.
set -euo pipefail
PYTHON=${1:?usage: install_llama.sh PYTHON}
case "$PYTHON" in */*) PYTHON=$(realpath -s "$PYTHON") ;; *) PYTHON=$(command -v "$PYTHON") ;; esac
cd "$(dirname "$0")/.."
VERSION=$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml | head -n1)
test -n "$VERSION" || { echo "install_llama.sh: no llama-cpp-python==X pin in pyproject.toml" >&2; exit 2; }

source scripts/cpu_flags.sh  # sets CPU_FLAGS and EXTRA (the working folder is the checkout)
ARGS="-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF ${CMAKE_ARGS:-}"
KEY=$(printf '%s|%s|%s|%s' "$VERSION" "$ARGS" "$EXTRA" "$CPU_FLAGS" | sha256sum | cut -c1-16)
WHEELS="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/citebot/wheels/$KEY"

installed=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))' 2>/dev/null || true)
if [ "$installed" = "$VERSION" ] && [ -f "$("$PYTHON" -c 'import sys; print(sys.prefix)')/.llama-$KEY" ]; then
    exit 0
fi
if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $VERSION for this CPU (about 5 minutes on 2 cores)${EXTRA:+, without AMX}" >&2
    rm -rf "$WHEELS.tmp" && mkdir -p "$WHEELS.tmp"
    CMAKE_ARGS="$ARGS" CFLAGS="${CFLAGS:-} $EXTRA" CXXFLAGS="${CXXFLAGS:-} $EXTRA" \
        CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
        "$PYTHON" -m pip wheel --quiet --no-deps --no-cache-dir --no-binary llama-cpp-python \
        -w "$WHEELS.tmp" "llama-cpp-python==$VERSION"
    rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"   # published whole, so an interrupted build is redone
fi
"$PYTHON" -m pip install --quiet --force-reinstall --no-deps "$WHEELS"/llama_cpp_python-*.whl
"$PYTHON" -m pip install --quiet "llama-cpp-python==$VERSION"   # its dependencies (numpy, jinja2, diskcache)
if [ -n "$EXTRA" ] && "$PYTHON" -c 'import llama_cpp; print(llama_cpp.llama_print_system_info().decode())' | grep -q 'AMX_INT8 = 1'; then
    echo "install_llama.sh: the build still has AMX kernels; citebot will load models without extra buffers" >&2
fi
touch "$("$PYTHON" -c 'import sys; print(sys.prefix)')/.llama-$KEY"
