#!/usr/bin/env bash
# cluster/setup.sh -- install what is missing, then configure and build.
#
# Used by cluster/demo.sh and tests/run.sh; safe to run again (it installs
# only missing Debian packages and rebuilds incrementally).
#
#   cluster/setup.sh [BUILD_DIR [extra cmake args...]]
#
# Environment: MF_SKIP_INSTALL=1 skips the package step (for machines where
# the libraries come from elsewhere; then cmake says what it cannot find).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-"$here/build"}
shift || true

# Everything the build, the tests and the demo use, as Debian packages.
packages=(
  gcc g++ make cmake pkg-config      # toolchain (g++ only for cmake's probes)
  libc6-dev                          # headers
  libmsgpack-dev                     # msgpack-c 4.0 (serialization/)
  libcmocka-dev                      # unit tests
  libuv1-dev                         # event loop, libuv baseline benchmark
  libopenmpi-dev openmpi-bin         # Open MPI 4.1 (ranks/), mpiexec
  iproute2                           # cluster/multihost.sh: namespaces, veth
  procps                             # pgrep/pkill in the fault tests
  gnuplot-nox                        # mpifutures overhead --plot
  python3-mpi4py                     # overhead --peers: Python's peers
  valgrind                           # tests/run.sh: memcheck on the examples
)

missing=()
if [ "${MF_SKIP_INSTALL:-0}" != 1 ]; then
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
fi
if ((${#missing[@]})); then
  echo "setup: installing missing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
echo "setup: configuring $build"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
echo "setup: building with $jobs jobs"
cmake --build "$build" -j "$jobs"
