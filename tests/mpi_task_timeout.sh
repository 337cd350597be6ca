#!/usr/bin/env bash
# tests/mpi_task_timeout.sh PROGRAM -- a task that never returns under the
# MPI pool's task_timeout (see tests/test_mpi_timeout.c): every future ends
# with the promised error, the pool goes on with the other worker, and the
# job ends at mf_executor_free with a message naming the stuck rank --
# never a hang (timeout).
set -u
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fail=0
for mode in "one 3" "all 2"; do
  set -- "$1" $mode
  out=$(timeout -k 10 90 mpiexec -n "$3" --oversubscribe "$1" "$2" 2>&1)
  rc=$?
  echo "== $2 (mpiexec -n $3): exit status $rc"
  echo "$out"
  if [ "$rc" -eq 124 ]; then echo "FAIL: the job hung"; fail=1; continue; fi
  grep -q '^checked$' <<<"$out" || { echo "FAIL: checks did not pass"; fail=1; }
  grep -q 'still stuck in a task past its task_timeout of 0.3 s: rank 1' <<<"$out" ||
    { echo "FAIL: no message naming the stuck rank"; fail=1; }
  grep -q UNEXPECTED <<<"$out" && { echo "FAIL: freed without abort"; fail=1; }
  [ "$rc" -eq 70 ] || { echo "FAIL: exit status $rc, not MPI_Abort's 70"; fail=1; }
done
exit $fail
