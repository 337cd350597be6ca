#!/usr/bin/env bash
# cluster/demo.sh -- the quick start: install what is missing, build, and run
# the demo.
#
# Until the MPI process pool lands this runs the thread-pool demo: the
# lecture's Example 23.2 (futures, callbacks, as_completed, errors) and the
# thread pool measured against libuv's uv_queue_work.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/cluster/setup.sh" "$here/build"

echo
echo "== Example 23.2: risky tasks on a 5-thread pool (seed 7) =="
"$here/build/examples/risky_tasks" --seed 7

echo
echo "== The thread pool against libuv's uv_queue_work, same run =="
"$here/build/bin/mpifutures" bench threads --tasks 300000 --rounds 5000 --reps 3
