#!/usr/bin/env bash
# tests/fuzz/run.sh -- build the libFuzzer targets (clang, MF_FUZZ=ON, in
# build-fuzz/) and run each for a while, one after the other (one core).
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]      default 15: ~1 minute in all
#   tests/fuzz/run.sh 600                       the long run: 10 minutes each
#   tests/fuzz/run.sh 600 args roundtrip        only these targets
#
# Every target starts from its seeds (written fresh by fuzz_seeds with the
# project's writers), the corpus kept from earlier runs in
# build-fuzz/fuzz/corpus/<target>/ and the inputs that once crashed it
# (tests/fuzz/regressions/<target>/). It runs with AddressSanitizer,
# UndefinedBehaviorSanitizer and leak detection; its full log goes to
# build-fuzz/fuzz/logs/<target>.log and a crashing input to
# build-fuzz/fuzz/artifacts/<target>/. One summary line per target, then
# exit status 1 if any target crashed (or broke an invariant: that aborts).
#
# Needs clang and libFuzzer's runtime (Debian: clang, libclang-rt-dev; llvm
# for symbolized stack traces); tests/run.sh installs them.
# Environment: MF_FUZZ_BUILD overrides the build directory.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
secs=${1:-15}
build=${MF_FUZZ_BUILD:-"$here/build-fuzz"}
targets=(task_envelope result_envelope args roundtrip) # = tests/fuzz/targets.cmake
if (($# > 1)); then # run.sh SECONDS TARGET...: only those
  shift
  for t in "$@"; do
    [[ " ${targets[*]} " == *" $t "* ]] || {
      echo "$0: no fuzz target '$t' (${targets[*]})" >&2
      exit 2
    }
  done
  targets=("$@")
fi

case $secs in
'' | *[!0-9]* | 0)
  echo "usage: $0 [SECONDS_PER_TARGET [TARGET...]]" >&2
  exit 2
  ;;
esac
if ! command -v clang >/dev/null; then
  echo "fuzz: clang not found (Debian: apt-get install clang libclang-rt-dev)" >&2
  exit 2
fi
rt="$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$(uname -m).a"
if [ ! -f "$rt" ]; then
  echo "fuzz: libFuzzer's runtime $rt is missing (Debian: libclang-rt-dev)" >&2
  exit 2
fi

jobs=$(nproc 2>/dev/null || echo 2)
echo "fuzz: building the targets in $build"
cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMF_FUZZ=ON -DMF_BUILD_TESTS=OFF \
  -DMF_BUILD_BENCH=OFF -DMF_BUILD_EXAMPLES=OFF >/dev/null &&
  cmake --build "$build" --target mf_fuzz -j "$jobs" >/dev/null || {
  echo "fuzz: configuring or building $build failed" >&2
  exit 2
}

symbolizer=$(clang -print-prog-name=llvm-symbolizer)
if [ -x "$symbolizer" ]; then
  export ASAN_SYMBOLIZER_PATH=$symbolizer
fi
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}"

work="$build/fuzz"
crashed=()
summary=()
for t in "${targets[@]}"; do
  bin="$build/bin/fuzz_$t"
  seeds="$work/seeds/$t" corpus="$work/corpus/$t" art="$work/artifacts/$t"
  log="$work/logs/$t.log"
  rm -rf "$seeds"
  mkdir -p "$seeds" "$corpus" "$art" "$work/logs"
  "$build/bin/fuzz_seeds" "$t" "$seeds" || exit 2
  dirs=("$corpus" "$seeds")
  reg="$here/tests/fuzz/regressions/$t"
  [ -d "$reg" ] && dirs+=("$reg")
  echo "fuzz: fuzz_$t for $secs s (log: $log)"
  # New inputs go to the first directory only: the kept corpus.
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$art/" \
    "${dirs[@]}" >"$log" 2>&1
  rc=$?
  # The last status line ("#N DONE cov: C ft: F corp: K/SIZE ...") and the
  # final statistics.
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  arts=$(grep -o "Test unit written to .*" "$log" | sed 's/Test unit written to //')
  ncrash=$(grep -c "Test unit written to " "$log")
  if [ "$rc" -ne 0 ] && [ "$ncrash" -eq 0 ]; then
    ncrash=1 # died without an artifact (e.g. an abort in the set-up)
  fi
  line=$(printf 'fuzz_%-16s %5ss  runs %-10s exec/s %-7s cov %-5s ft %-6s corpus %-12s crashes %s' \
    "$t" "$secs" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$ncrash")
  summary+=("$line")
  echo "$line"
  if [ "$ncrash" -ne 0 ]; then
    crashed+=("$t")
    grep -m 3 -E "ERROR: |fuzz invariant broken|runtime error" "$log" | sed 's/^/    /'
    for a in $arts; do
      echo "    input: $a  (replay: $bin $a)"
    done
  fi
done

echo
echo "fuzz summary ($secs s per target; corpus: $work/corpus):"
printf '  %s\n' "${summary[@]}"
if ((${#crashed[@]})); then
  echo "fuzz: FAILED: ${crashed[*]} (after the fix, keep each input in tests/fuzz/regressions/<target>/)"
  exit 1
fi
echo "fuzz: no crash in ${#targets[@]} targets"
