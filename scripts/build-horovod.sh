#!/usr/bin/env bash
# Build Horovod for the torch installed in a Python environment and install it there.
#
#   bash scripts/build-horovod.sh            # the workspace venv (.venv)
#   DTE_HOROVOD_PYTHON=/path/to/python bash scripts/build-horovod.sh
#
# Horovod 0.28.1 (its last release) hard-codes C++14, and torch 2.x headers need C++17 (recent
# ones C++20), so the stock sdist does not compile. This script fetches the sdist from
# PyPI (checksum pinned), raises the two C++14 lines to what torch needs, builds a wheel
# against the installed torch (CPU collectives through gloo; no MPI, TensorFlow or MXNet) and
# installs it. The wheel is cached per torch version, Python version and CPU/GPU variant, so
# another environment on the same machine installs in seconds. Horovod's source is never
# kept in the repository.
#
# `uv sync` removes packages the lock does not name, Horovod included: run this after it (with
# the cached wheel that takes seconds).
#
# Environment:
#   DTE_HOROVOD_PYTHON   interpreter of the target environment (default: <repo>/.venv/bin/python)
#   DTE_HOROVOD_CACHE    wheel cache (default: ${XDG_CACHE_HOME:-~/.cache}/dte/horovod)
#   DTE_HOROVOD_REBUILD  1: build even if horovod.torch imports or a cached wheel exists
#   DTE_PYPI_URL         PyPI (or a mirror with its JSON API) (default: https://pypi.org)
#   MAKEFLAGS / HOROVOD_BUILD_JOBS   parallel compile jobs (default: all cores)
#   HOROVOD_GPU_OPERATIONS=NCCL etc. are passed through for a GPU build (CUDA toolkit needed).
set -euo pipefail

VERSION=0.28.1
SHA256=92a43f5a94c43907a56805bad15f19700c62ffc83b7ca483f9e104e229f67ef0
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${DTE_HOROVOD_PYTHON:-$REPO/.venv/bin/python}
PYPI=${DTE_PYPI_URL:-https://pypi.org}
START=$(date +%s)

say() { printf 'build-horovod: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
took() { say "$1 in $(( $(date +%s) - START )) s"; }

[ -x "$PYTHON" ] \
    || die "no Python at $PYTHON (create the venv with \`uv sync\`, or set DTE_HOROVOD_PYTHON)"

if [ "${DTE_HOROVOD_REBUILD:-0}" != 1 ] && "$PYTHON" -c "import horovod.torch" 2>/dev/null; then
    took "horovod.torch already imports in $PYTHON; nothing to do"
    exit 0
fi

TORCH=$("$PYTHON" -c "import torch; print(torch.__version__)" 2>/dev/null) \
    || die "torch is not importable in $PYTHON; Horovod is built against the installed torch"
PYTAG=$("$PYTHON" -c "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')")
# CPU collectives (gloo) unless GPU operations are asked for (HOROVOD_GPU_OPERATIONS=NCCL).
VARIANT=cpu
if [ -n "${HOROVOD_GPU_OPERATIONS:-}${HOROVOD_GPU_ALLREDUCE:-}" ]; then VARIANT=gpu; fi
CACHE=${DTE_HOROVOD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dte/horovod}/$TORCH-$PYTAG-$VARIANT
command -v uv >/dev/null || die "uv is needed to install the wheel: pip install uv"

install_wheel() {
    say "installing $1"
    uv pip install --python "$PYTHON" --no-deps "$1" >&2
    # Horovod's own run-time requirements (horovodrun needs them); none of them is torch.
    uv pip install --python "$PYTHON" cloudpickle psutil pyyaml packaging >&2
    "$PYTHON" -c "import horovod.torch" || die "the installed wheel does not import"
}

WHEEL=$(ls "$CACHE"/horovod-"$VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [ -n "$WHEEL" ] && [ "${DTE_HOROVOD_REBUILD:-0}" != 1 ]; then
    install_wheel "$WHEEL"
    took "installed the cached wheel for torch $TORCH"
    exit 0
fi

# ---- build tools --------------------------------------------------------------------------
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v g++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${missing[*]} with apt-get"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ make >&2
    else
        die "Horovod needs ${missing[*]}: install them (Debian: sudo apt-get install -y cmake g++)"
    fi
fi
# No build isolation: the build compiles against the torch of the target environment, whose
# setuptools and wheel then do the packaging.
"$PYTHON" -c "import setuptools, wheel" 2>/dev/null \
    || uv pip install --python "$PYTHON" setuptools wheel >&2

# ---- sdist from PyPI, checked and patched ----------------------------------------------------
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
say "fetching horovod $VERSION from $PYPI"
URL=$(curl -fsSL "$PYPI/pypi/horovod/json" | "$PYTHON" -c "
import json, sys
files = json.load(sys.stdin)['releases']['$VERSION']
print(next(f['url'] for f in files if f['packagetype'] == 'sdist'))") \
    || die "could not find the horovod $VERSION sdist on $PYPI"
curl -fsSL -o "$WORK/horovod.tar.gz" "$URL" || die "download of $URL failed"
echo "$SHA256  $WORK/horovod.tar.gz" | sha256sum -c --quiet - \
    || die "checksum of $URL is not the pinned one ($SHA256)"
tar -xzf "$WORK/horovod.tar.gz" -C "$WORK"
SRC=$WORK/horovod-$VERSION

# The C++ standard torch's headers demand (C++17 for earlier torch 2.x, C++20 for recent ones
# such as 2.15): their `#error C++NN or later ...` line says which.
TORCH_INCLUDE=$("$PYTHON" -c \
    "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'include'))")
STD=$(grep -ohE "#error C\+\+[0-9]+ or later" "$TORCH_INCLUDE/ATen/ATen.h" 2>/dev/null \
      | grep -oE "[0-9]+" | sort -n | tail -n 1 || true)
if [ -z "$STD" ] || [ "$STD" -lt 17 ]; then STD=17; fi

patch_line() {  # FILE LINE STANDARD: Horovod's C++14 line, raised to STANDARD
    local file=$SRC/$1 line=$2
    sed -n "${line}p" "$file" | grep -Eq '^ *set\(CMAKE_CXX_STANDARD 14\)$' \
        || die "$1:$line is not 'set(CMAKE_CXX_STANDARD 14)'; the sdist changed, update this script"
    sed -i "${line}s/CMAKE_CXX_STANDARD 14/CMAKE_CXX_STANDARD $3/" "$file"
}
patch_line CMakeLists.txt 19 17               # Horovod's core and gloo
patch_line horovod/torch/CMakeLists.txt 67 "$STD"  # the torch extension, built with torch's headers

if [ "$VARIANT" = cpu ]; then
    # Horovod compiles CUDA code whenever torch is a CUDA build and a CUDA toolkit is found
    # (PyPI's torch is one; a partial toolkit then breaks the configure step). The CPU build
    # must not depend on which toolkit happens to be installed: tell it torch has no CUDA.
    FIND=cmake/Modules/FindPytorch.cmake
    "$PYTHON" - "$SRC/$FIND" <<'PY' \
        || die "$FIND no longer has torch's CUDA check; the sdist changed, update this script"
import sys
check = "print(True if ((torch.version.cuda is not None) and (CUDA_HOME is not None)) else False)"
with open(sys.argv[1]) as f:
    text = f.read()
if text.count(check) != 1:
    sys.exit(1)
with open(sys.argv[1], "w") as f:
    f.write(text.replace(check, "print(False)"))
PY
fi

# ---- build -----------------------------------------------------------------------------------
JOBS=${HOROVOD_BUILD_JOBS:-$(nproc)}
say "building ($VARIANT, C++$STD) against torch $TORCH with $JOBS jobs (about 4 minutes on 2 cores)"
export HOROVOD_WITH_PYTORCH=1 HOROVOD_WITHOUT_MPI=1 HOROVOD_WITH_GLOO=1 \
    HOROVOD_WITHOUT_TENSORFLOW=1 HOROVOD_WITHOUT_MXNET=1
export HOROVOD_CPU_OPERATIONS=${HOROVOD_CPU_OPERATIONS:-gloo}
export MAKEFLAGS=${MAKEFLAGS:--j$JOBS} CMAKE_BUILD_PARALLEL_LEVEL=$JOBS
(cd "$WORK" && uv build --no-config --wheel --no-build-isolation --python "$PYTHON" \
    --out-dir "$WORK/dist" "$SRC" >"$WORK/build.log" 2>&1) \
    || { mkdir -p "$CACHE"; cp "$WORK/build.log" "$CACHE/build-failed.log"
         grep -E -m 20 "error|Error" "$WORK/build.log" >&2 || true; tail -n 30 "$WORK/build.log" >&2
         die "the build failed; the whole log is $CACHE/build-failed.log"; }
WHEEL=$(ls "$WORK"/dist/horovod-"$VERSION"-*.whl)
mkdir -p "$CACHE"
cp "$WHEEL" "$CACHE/"
rm -f "$CACHE/build-failed.log"
WHEEL=$CACHE/$(basename "$WHEEL")
say "wheel cached at $WHEEL"
install_wheel "$WHEEL"
took "built and installed horovod $VERSION for torch $TORCH"
