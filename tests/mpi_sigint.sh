#!/usr/bin/env bash
# tests/mpi_sigint.sh TOOL -- Ctrl-C on a running job (SIGINT, as a
# terminal sends it): under mpirun and when rank 0 spawned its own workers,
# the job must end within seconds and leave no rank behind.
#
# Background jobs of a non-interactive shell start with SIGINT ignored;
# `env --default-signal=INT` gives the job the terminal's default again.
set -u
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tool=$1
fail=0
# A limit no other run uses marks this test's processes.
limit=$((300000000 + RANDOM))
count() { pgrep -f "primes --limit $limit" | wc -l; }

run() { # run NAME EXTRA_OPTION COMMAND...
  local name=$1 extra=$2 pid n t
  shift 2
  # shellcheck disable=SC2086
  env --default-signal=INT "$@" primes --limit "$limit" --tasks 64 $extra \
    >/dev/null 2>&1 &
  pid=$!
  for t in $(seq 1 100); do # wait until the workers run (up to 10 s)
    [ "$(count)" -ge 3 ] && break
    sleep 0.1
  done
  n=$(count)
  [ "$n" -ge 3 ] || { echo "FAIL: $name: the job did not start"; fail=1; }
  kill -INT "$pid" 2>/dev/null
  timeout 20 tail --pid="$pid" -f /dev/null
  for t in $(seq 1 50); do # every rank gone within 5 s
    [ "$(count)" -eq 0 ] && break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: $name: still running 20 s after SIGINT"
    kill -KILL "$pid"
    fail=1
  elif [ "$(count)" -ne 0 ]; then
    echo "FAIL: $name: $(count) processes left behind"; pgrep -fa "primes --limit $limit"
    pkill -KILL -f "primes --limit $limit"
    fail=1
  else
    echo "ok: $name: $n processes, all gone after SIGINT"
  fi
}

run "mpirun -n 3" "" mpirun --oversubscribe -n 3 "$tool"
run "rank 0 spawning 2 workers" "--workers 2" "$tool"
exit $fail
