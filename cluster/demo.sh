#!/usr/bin/env bash
# cluster/demo.sh -- the quick start: install what is missing, build, and run
# the demo:
#   1. the lecture's Example 23.1 (prime counts) on the MPI process pool,
#      with 1, 2 and 4 worker ranks under mpirun, then started alone
#      (it spawns its own workers);
#   2. Example 23.2 (futures, callbacks, as_completed, errors) on threads;
#   3. the thread pool measured against libuv's uv_queue_work.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/cluster/setup.sh" "$here/build"

# Open MPI refuses root unless told; this machine may have fewer cores than
# ranks. Set here so that nobody has to.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
mpirun=(mpirun --oversubscribe)

echo
echo "== Example 23.1: prime counts, sequential vs the MPI process pool =="
echo "   ($(nproc) cores here; the speedup cannot exceed that)"
for ranks in 2 3 5; do
  echo "-- mpirun -n $ranks ($((ranks - 1)) worker ranks)"
  "${mpirun[@]}" -n "$ranks" "$here/build/examples/primes"
done
echo "-- started without mpirun: rank 0 spawns 4 workers itself"
"$here/build/examples/primes"

echo
echo "== Example 23.2: risky tasks on a 5-thread pool (seed 7) =="
"$here/build/examples/risky_tasks" --seed 7

echo
echo "== The thread pool against libuv's uv_queue_work, same run =="
"$here/build/bin/mpifutures" bench threads --tasks 300000 --rounds 5000 --reps 3
