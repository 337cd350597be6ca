#!/usr/bin/env bash
# tests/mpi_sigint.sh PROGRAM -- Ctrl-C (SIGINT, as a terminal sends it)
# on a job whose workers are all busy with long tasks (test_mpi_sigint.c):
# under mpirun and when rank 0 spawned its own workers, the job must end
# within 10 s and leave no process behind. (Measured: about 2 s under a
# local mpirun, 1 s with spawned workers, 5 s across the network-namespace
# hosts of cluster/multihost.sh, where mpirun waits for its remote daemons.)
#
# Background jobs of a non-interactive shell start with SIGINT ignored;
# `env --default-signal=INT` gives the job the terminal's default again.
set -u
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
prog=$1
fail=0
marker="sigint-test-$$-$RANDOM" # marks this test's processes
count() { pgrep -f -- "$marker" | wc -l; }
now() { date +%s.%N; }

run() { # run NAME COMMAND...
  local name=$1 pid t out start took
  shift
  out=$(mktemp)
  env --default-signal=INT "$@" "$marker" >"$out" 2>&1 &
  pid=$!
  for t in $(seq 1 200); do # until every worker runs a task (up to 20 s)
    grep -q '^running$' "$out" && break
    sleep 0.1
  done
  if ! grep -q '^running$' "$out"; then
    echo "FAIL: $name: the job did not start"; cat "$out"
    fail=1
  else
    start=$(now)
    kill -INT "$pid"
    timeout 20 tail --pid="$pid" -f /dev/null
    for t in $(seq 1 50); do # and every rank within 5 s more
      [ "$(count)" -eq 0 ] && break
      sleep 0.1
    done
    took=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
    if kill -0 "$pid" 2>/dev/null || [ "$(count)" -ne 0 ]; then
      echo "FAIL: $name: still running or $(count) processes left, $took s after SIGINT"
      fail=1
    elif awk -v t="$took" 'BEGIN { exit !(t > 10) }'; then
      echo "FAIL: $name: took $took s to end"
      fail=1
    else
      echo "ok: $name: ended $took s after SIGINT, no process left"
    fi
    grep -q UNEXPECTED "$out" && { echo "FAIL: $name: the tasks finished"; fail=1; }
  fi
  # Whatever happened, leave nothing behind.
  kill -KILL "$pid" 2>/dev/null
  pkill -KILL -f -- "$marker" 2>/dev/null
  rm -f "$out"
}

run "mpirun -n 3" mpirun --oversubscribe -n 3 "$prog"
run "rank 0 spawning 2 workers" "$prog"
exit $fail
