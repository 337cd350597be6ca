#!/usr/bin/env bash
# cluster/demo.sh -- the quick start: install what is missing, build, and run
# the demo:
#   1. the prime-count scaling table on local MPI ranks (1..cores workers);
#   2. the lecture's Example 23.1 on the MPI process pool, under mpirun and
#      started alone (it spawns its own workers);
#   3. Example 23.2 (futures, callbacks, as_completed, errors) on threads;
#   4. the MPI pool against raw MPI, Example 23.3 on the event loop, the
#      bridge against libuv (and an HTTP server kept responsive), and the
#      thread pool against libuv's uv_queue_work, each in the same run.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/cluster/setup.sh" "$here/build"

# Open MPI refuses root unless told; this machine may have fewer cores than
# ranks. Set here so that nobody has to.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
mpirun=(mpirun --oversubscribe)

cores=$(nproc)
echo
echo "== Prime-count scaling on local MPI ranks: 1..$cores workers =="
"${mpirun[@]}" -n "$((cores + 1))" "$here/build/bin/mpifutures" primes --scaling

echo
echo "== Example 23.1: prime counts, sequential vs the MPI process pool =="
echo "-- mpirun -n 3 (2 worker ranks)"
"${mpirun[@]}" -n 3 "$here/build/examples/primes"
echo "-- started without mpirun: rank 0 spawns 4 workers itself"
"$here/build/examples/primes"

echo
echo "== Example 23.2: risky tasks on a 5-thread pool (seed 7) =="
"$here/build/examples/risky_tasks" --seed 7

echo
echo "== The MPI pool against raw MPI between the same ranks =="
"${mpirun[@]}" -n 2 "$here/build/bin/mpifutures" bench mpi

echo
echo "== Example 23.3: blocking calls from coroutines on a libuv loop =="
"$here/build/examples/legacy_async"

echo
echo "== The event-loop bridge against libuv; /fast while /slow blocks =="
"$here/build/bin/mpifutures" bench loop --tasks 100000 --rounds 2000 --seconds 2

echo
echo "== The thread pool against libuv's uv_queue_work, same run =="
"$here/build/bin/mpifutures" bench threads --tasks 300000 --rounds 5000 --reps 3
