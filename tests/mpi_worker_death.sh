#!/usr/bin/env bash
# tests/mpi_worker_death.sh PROGRAM -- a worker dies mid-map: the job must
# end, quickly, in failure, naming the dead process; never hang (timeout)
# and never end as if nothing happened.
set -u
out=$(timeout 60 mpiexec -n 3 --oversubscribe "$1" 2>&1)
rc=$?
echo "$out"
echo "mpiexec exit status: $rc"
if [ "$rc" -eq 124 ]; then echo "FAIL: the job hung"; exit 1; fi
if [ "$rc" -eq 0 ]; then echo "FAIL: the job ended normally"; exit 1; fi
grep -q "exited with non-zero status\|Exit code: *9" <<<"$out" ||
  { echo "FAIL: the dead process is not reported"; exit 1; }
echo "ok: the job was aborted and the dead worker reported"
