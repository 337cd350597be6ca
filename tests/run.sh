#!/usr/bin/env bash
# tests/run.sh -- every test: install what is missing, build, then
#   1. the cmocka suite under ctest (plain build), including the MPI
#      integration tests on real Open MPI ranks (mpiexec -n 2, 3, 4, and
#      spawn mode),
#   2. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. the same suite built with ThreadSanitizer,
#   4. the lecture's examples (23.1 on the MPI pool, 23.2 on threads, 23.3
#      on the libuv event loop),
#      checked for their promised output, then run under valgrind's
#      memcheck (no memory error, no leak),
#   5. the mpifutures primes / bench mpi / bench loop / overhead / stress
#      commands
#      on real ranks and real loopback TCP (behaviour, JSON keys, CSV rows,
#      PNG plots, the Python peers; never timings),
#   6. `cmake --install` and a downstream project built against the install
#      through find_package(mpifutures) and through pkg-config.
#   7. the libFuzzer targets of tests/fuzz/ (every decoder of bytes from
#      another process), about 15 s each (tests/fuzz/run.sh 15; the long
#      run is tests/fuzz/run.sh 600).
#   8. cluster/multihost.sh: 3 hosts made of network namespaces, over TCP
#      (root and iproute2 only; otherwise "SKIPPED: why").
# Ends with one line "N passed, N failed"; exits non-zero if anything failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
passed=0
failed=0
failures=()

step() { # step NAME COMMAND... -- run, record, never abort the whole run
  local name=$1
  shift
  echo
  echo "==== $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "---- $name: passed"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "---- $name: FAILED"
  fi
}

# Set-up must work before anything else can mean anything.
if ! "$here/cluster/setup.sh" "$here/build"; then
  echo "tests/run.sh: set-up or build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

jobs=$(nproc 2>/dev/null || echo 2)
ctest_in() { ctest --test-dir "$1" --output-on-failure -j "$jobs" --timeout 300; }

# ThreadSanitizer cannot map its shadow memory under the high mmap
# randomisation of recent kernels; run its tests without ASLR if so.
tsan_prefix=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then
  tsan_prefix=(setarch "$(uname -m)" -R)
fi

sanitized() { # sanitized KIND DIR
  cmake -S "$here" -B "$2" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMF_SANITIZE="$1" -DMF_BUILD_BENCH=OFF >/dev/null &&
    cmake --build "$2" -j "$jobs" >/dev/null &&
    if [ "$1" = thread ]; then
      # tests/tsan.supp silences one report inside Open MPI's own code.
      TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$here/tests/tsan.supp" \
        "${tsan_prefix[@]}" ctest --test-dir "$2" --output-on-failure \
        -j "$jobs" --timeout 600
    else
      # Leak checking for everything of ours; under MPI only memory errors:
      # Open MPI leaks by design at MPI_Finalize, in components it has
      # already unloaded (so its leaks cannot even be named to suppress).
      ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        ctest --test-dir "$2" --output-on-failure -j "$jobs" --timeout 600 \
        -LE mpi &&
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" \
          UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
          ctest --test-dir "$2" --output-on-failure --timeout 600 -L mpi
    fi
}

install_missing() { # install_missing PKG... -- as cluster/setup.sh does
  local p missing=()
  [ "${MF_SKIP_INSTALL:-0}" = 1 ] && return 0
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "installing missing Debian packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q \
      --no-install-recommends "${missing[@]}"
}

fuzzing() {
  # clang, libFuzzer's runtime, llvm-symbolizer for readable stack traces.
  install_missing clang libclang-rt-dev llvm &&
    "$here/tests/fuzz/run.sh" 15
}

risky_example() {
  local out
  out=$("$here/build/examples/risky_tasks" --seed 7) || return 1
  echo "$out"
  # Example 23.2: 8 outcomes reported by callbacks, the totals adding up.
  local ok ko cb
  read -r ok ko < <(sed -n 's/^Done: \([0-9]*\) succeeded, \([0-9]*\) failed$/\1 \2/p' <<<"$out")
  cb=$(grep -c '^CALLBACK: ' <<<"$out")
  [ -n "${ok:-}" ] && [ $((ok + ko)) -eq 8 ] && [ "$cb" -eq 8 ] &&
    [ "$(grep -c '^Handled error: Task [0-9] failed randomly$' <<<"$out")" -eq "$ko" ] &&
    # --seed makes the run reproducible
    [ "$("$here/build/examples/risky_tasks" --seed 7 | grep '^Done:')" = "Done: $ok succeeded, $ko failed" ]
}

primes_example() {
  # Example 23.1 on the MPI pool under mpirun and in spawn mode: the pool's
  # counts must equal the sequential ones (the program exits 1 otherwise)
  # and it reports a speedup. Timing is not asserted: the machine is shared.
  local out
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  out=$(mpirun --oversubscribe -n 3 "$here/build/examples/primes") || return 1
  echo "$out"
  grep -q '^Sequential: .* -> \[78498, 78498, 78498, 78498\]$' <<<"$out" &&
    grep -q '^2 Processes: .* -> \[78498, 78498, 78498, 78498\]$' <<<"$out" &&
    grep -q '^Speedup: ' <<<"$out" || return 1
  out=$("$here/build/examples/primes") || return 1
  echo "$out"
  grep -q '^4 Processes: .* -> \[78498, 78498, 78498, 78498\]$' <<<"$out"
}

legacy_async_example() {
  # Example 23.3: four 0.2 s blocking calls through run_in_executor from
  # coroutines give the four squares. (Its time is printed, not asserted.)
  local out
  out=$("$here/build/examples/legacy_async") || return 1
  echo "$out"
  grep -q '^Results: \[100, 400, 900, 1600\]$' <<<"$out" &&
    grep -q '^Time: [0-9.]*s (should be ~0.2s, not 0.8s)$' <<<"$out"
}

valgrind_examples() {
  # Memcheck on the examples: no invalid access, no use of uninitialised
  # memory, no definite or indirect leak. primes runs under mpirun, one
  # valgrind per rank; tests/valgrind-openmpi.supp silences only Open MPI's
  # own reports (what it never frees from MPI_Init/MPI_Finalize, in
  # components it has unloaded; PMIx's partly initialised send buffers):
  # its entries match Open MPI frames only, so a leak of ours still fails.
  # -q: only errors are printed (no "client switching stacks" warnings for
  # legacy_async's coroutine stacks).
  command -v valgrind >/dev/null || { echo "valgrind is not installed"; return 1; }
  # About 20 s on 2 cores; `timeout` only stops a hang.
  local vg=(valgrind -q --error-exitcode=1 --leak-check=full
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
    --num-callers=40)
  timeout 120 "${vg[@]}" "$here/build/examples/risky_tasks" --seed 7 &&
    timeout 120 "${vg[@]}" "$here/build/examples/legacy_async" || return 1
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 300 \
    mpirun --oversubscribe -n 2 "${vg[@]}" \
    --suppressions="$here/tests/valgrind-openmpi.supp" "$here/build/examples/primes"
}

commands() {
  # The mpifutures commands on real ranks: behaviour only (counts agree,
  # every promised JSON key is there), never timings.
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  local tool="$here/build/bin/mpifutures" out k
  out=$(mpirun --oversubscribe -n 3 "$tool" primes --limit 1000000 --json) &&
    echo "$out" && grep -q '"counts_match": true' <<<"$out" || return 1
  for k in workers sequential_s pool_s speedup efficiency counts_match \
    overhead_share; do
    grep -q "\"$k\": " <<<"$out" || { echo "primes: no key $k"; return 1; }
  done
  out=$("$tool" primes --limit 500000 --workers 2 --scaling --json) &&
    echo "$out" && grep -q '"counts_match": true' <<<"$out" || return 1
  out=$("$tool" bench loop --tasks 20000 --rounds 500 --seconds 1 --json) &&
    echo "$out" || return 1
  for k in rtt_us libuv_rtt_us tasks_per_s libuv_tasks_per_s \
    fast_p99_ms_bridge fast_p99_ms_inline; do
    grep -q "\"$k\": " <<<"$out" || { echo "bench loop: no key $k"; return 1; }
  done
  out=$(mpirun --oversubscribe -n 2 "$tool" bench mpi --tasks 20000 \
    --rounds 500 --json) && echo "$out" || return 1
  for k in rtt_us raw_mpi_rtt_us submit_tasks_per_s map1_tasks_per_s \
    map_auto_tasks_per_s idle_root_cpu_pct; do
    grep -q "\"$k\": " <<<"$out" || { echo "bench mpi: no key $k"; return 1; }
  done
  overhead_command && stress_command
}

stress_command() {
  # mpifutures stress: exactly-once on both pools (a smaller N than the
  # million of the measured run; behaviour only).
  local out k
  out=$(mpirun --oversubscribe -n 3 "$here/build/bin/mpifutures" stress \
    --tasks 50000 --fail-rate 0.3 --cancel-rate 0.05 --json) &&
    echo "$out" || return 1
  for k in exactly_once lost bytes_per_inflight_future tasks_per_s \
    succeeded failed cancelled missed_callbacks duplicate_callbacks; do
    grep -q "\"$k\": " <<<"$out" || { echo "stress: no key $k"; return 1; }
  done
  grep -q '"exactly_once": true, "lost": 0,' <<<"$out"
}

overhead_command() {
  # mpifutures overhead on a small grid: every promised key, a CSV row per
  # cell and executor, three valid PNGs through gnuplot, and the Python
  # peers (ProcessPoolExecutor, mpi4py.futures) measured in the same run.
  local tool="$here/build/bin/mpifutures" dir out k f
  dir=$(mktemp -d) || return 1
  out=$(mpirun --oversubscribe -n 3 "$tool" overhead --grains 1,300,3000 \
    --payloads 8,64K --reps 1 --cell-ms 10 --refine 1 --peers \
    --csv "$dir/ov.csv" --plot "$dir/ov" --json) && echo "$out" || {
    rm -rf "$dir"
    return 1
  }
  local rc=0
  for k in workers floors cells crossover crossover_us_chunk1 \
    crossover_us_auto auto_worst_slowdown split_chunk1_us split_auto_us \
    mpi_rtt_us memcpy_us pack_us unpack_us process_pool_us mpi4py_us \
    crossover_us_process_pool crossover_us_mpi4py; do
    grep -q "\"$k\": " <<<"$out" || { echo "overhead: no key $k"; rc=1; }
  done
  grep -q '"peers": {"ran": true' <<<"$out" || { echo "overhead: peers did not run"; rc=1; }
  # 2 payloads x 3 grains (+ bisection cells) x 4 executors + peers' rows
  [ "$(grep -c ',mpi_auto,' "$dir/ov.csv")" -ge 6 ] &&
    [ "$(grep -c ',mpi4py_futures,' "$dir/ov.csv")" -eq 6 ] ||
    { echo "overhead: CSV rows missing"; rc=1; }
  for f in speedup split crossover; do
    [ "$(head -c 8 "$dir/ov-$f.png" | od -An -tx1 | tr -d ' \n')" = \
      89504e470d0a1a0a ] || { echo "overhead: ov-$f.png is not a PNG"; rc=1; }
  done
  # Without gnuplot: the measurements still finish, with a clear message.
  out=$(MPIFUTURES_GNUPLOT=/nonexistent/gnuplot "$tool" overhead --grains 10 --payloads 8 \
    --reps 1 --cell-ms 5 --workers 1 --plot "$dir/none" 2>&1) || {
    echo "$out"
    rc=1
  }
  grep -q 'gnuplot is not installed' <<<"$out" &&
    grep -q '^Crossover' <<<"$out" || { echo "$out"; echo "overhead: no clear message without gnuplot"; rc=1; }
  rm -rf "$dir"
  return $rc
}

downstream() {
  local prefix="$here/build/_install" dir="$here/build/_downstream"
  rm -rf "$prefix" "$dir"
  cmake --install "$here/build" --prefix "$prefix" >/dev/null || return 1
  echo "-- find_package(mpifutures)"
  cmake -S "$here/tests/downstream" -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null &&
    cmake --build "$dir" >/dev/null && "$dir/downstream" || return 1
  echo "-- pkg-config mpifutures"
  local pcdir
  pcdir=$(dirname "$(find "$prefix" -name mpifutures.pc | head -n 1)")
  # shellcheck disable=SC2046
  cc -std=c11 -o "$dir/downstream-pc" "$here/tests/downstream/main.c" \
    $(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs --static mpifutures) &&
    "$dir/downstream-pc"
}

multihost() {
  # Across hosts over real TCP: cluster/multihost.sh makes 3 hosts out of
  # network namespaces on this machine and runs info, primes, bench mpi,
  # the MPI integration tests and a lost host across them (~40 s). Keys and
  # exit status only, never timings. It needs root and iproute2; where it
  # cannot run it is skipped, saying why (and the step passes).
  local why out k rc=0
  why=$("$here/cluster/multihost.sh" --probe) || rc=$?
  if ((rc == 77)); then
    echo "SKIPPED: multi-host test: $why"
    return 0
  fi
  ((rc == 0)) || { echo "multihost.sh --probe failed ($rc): $why"; return 1; }
  out=$(timeout 300 "$here/cluster/multihost.sh" --hosts 3 --json \
    --build "$here/build") || { echo "$out"; return 1; }
  echo "$out"
  for k in hosts ranks_per_host transport counts_match speedup mpi_rtt_us_tcp \
    raw_tcp_rtt_us shm_rtt_us tests_passed tests_failed lost_host cleaned_up; do
    grep -q "\"$k\": " <<<"$out" || { echo "multihost: no key $k"; return 1; }
  done
  grep -q '^{"hosts": 3, ' <<<"$out" && grep -q '"transport": "tcp"' <<<"$out" &&
    grep -q '"counts_match": true' <<<"$out" &&
    grep -q '"tests_failed": 0' <<<"$out" &&
    grep -q '"lost_host_ok": true' <<<"$out" &&
    grep -q '"cleaned_up": true' <<<"$out"
}

step "unit tests (ctest)" ctest_in "$here/build"
step "unit tests under ASan+UBSan" sanitized address "$here/build-asan"
step "unit tests under TSan" sanitized thread "$here/build-tsan"
step "fuzzing (libFuzzer, ~60 s)" fuzzing
step "example: risky_tasks (Example 23.2)" risky_example
step "example: primes on the MPI pool (Example 23.1)" primes_example
step "example: legacy_async on the event loop (Example 23.3)" legacy_async_example
step "valgrind memcheck on the examples" valgrind_examples
step "commands: primes, bench mpi, bench loop, overhead, stress (behaviour, JSON keys)" commands
step "install + downstream find_package and pkg-config" downstream
step "multi-host: 3 network-namespace hosts over TCP (cluster/multihost.sh)" multihost

echo
if ((failed)); then
  printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
