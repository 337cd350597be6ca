#!/usr/bin/python3
"""Python peers for `mpifutures overhead --peers`.

The same grid as the C laboratory -- a CPU-bound task calibrated to last
`grain` microseconds, `payload` bytes of arguments and of result -- run
sequentially, through concurrent.futures.ProcessPoolExecutor and through
mpi4py.futures.MPIPoolExecutor (both at their default chunksize, 1), with
the same number of workers. mpifutures runs this script itself, after its
own measurements, in the same run; it can also be run by hand:

    /usr/bin/python3 bench/peers/overhead_peers.py --workers 2 \
        --grains 10,100,1000 --payloads 8,65536

Output, one record per line on stdout (read by bench/overhead_peers.c):
    calib ITERS_PER_US
    cell PAYLOAD GRAIN_US TASKS SEQ_S PROCESS_POOL_S MPI4PY_S   (-1: not run)
    skip EXECUTOR REASON...
"""
import argparse
import statistics
import sys
import time

MASK = 0xFFFFFFFFFFFFFFFF


def spin(iters):
    """The task's CPU work: a dependent chain of multiply-adds."""
    x = 0x9E3779B97F4A7C15
    for _ in range(iters):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
    return x


def sample(payload):
    """A sparse fingerprint: one byte per page and the last one."""
    return len(payload) + sum(payload[::4096]) + (payload[-1] if payload else 0)


def work(args):
    iters, payload, result_len = args
    return spin(iters) ^ sample(payload), bytes(result_len)


def noop(_):
    return None


def calibrate():
    iters, best = 20000, None
    for _ in range(5):
        t0 = time.perf_counter()
        spin(iters)
        t = time.perf_counter() - t0
        best = t if best is None or t < best else best
    return iters / (best * 1e6)


def run(executor, args, expect, result_len):
    t0 = time.perf_counter()
    if executor is None:
        results = [work(a) for a in args]
    else:
        results = list(executor.map(work, args))
    secs = time.perf_counter() - t0
    for check, data in results:
        if check != expect or len(data) != result_len:
            raise RuntimeError("a result came back wrong")
    return secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("--grains", required=True, help="microseconds, a,b,c")
    ap.add_argument("--payloads", required=True, help="bytes, a,b,c")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cell-s", type=float, default=0.05)
    ap.add_argument("--max-tasks", type=int, default=400)
    ap.add_argument("--progress", action="store_true")
    a = ap.parse_args()
    grains = sorted(float(g) for g in a.grains.split(","))
    payloads = [int(p) for p in a.payloads.split(",")]
    w = a.workers

    per_us = calibrate()
    print("calib %.4f" % per_us, flush=True)

    pools = {}
    try:
        from concurrent.futures import ProcessPoolExecutor
        pools["process_pool"] = ProcessPoolExecutor(max_workers=w)
        list(pools["process_pool"].map(noop, range(2 * w)))
    except Exception as e:  # report, go on with the rest
        print("skip process_pool %s: %s" % (type(e).__name__, e), flush=True)
    try:
        from mpi4py.futures import MPIPoolExecutor
        pools["mpi4py"] = MPIPoolExecutor(max_workers=w)
        list(pools["mpi4py"].map(noop, range(2 * w)))
    except Exception as e:
        print("skip mpi4py %s: %s" % (type(e).__name__, e), flush=True)
        pools.pop("mpi4py", None)

    for p in payloads:
        payload = bytes((i * 131) & 0xFF for i in range(min(p, 4096))) * (
            p // 4096 + 1)
        payload = payload[:p]
        for g in grains:
            iters = max(0, round(g * per_us))
            est = g * 1e-6 + 2e-6 + p * 2e-10
            n = int(a.cell_s / est)
            n = min(n, a.max_tasks, max(1, (256 << 20) // (2 * max(p, 1))))
            n = max(n, 2 * w)
            n = (n + w - 1) // w * w
            args = [(iters, payload, p)] * n
            expect = spin(iters) ^ sample(payload)
            times = {"seq": [], "process_pool": [], "mpi4py": []}
            for _ in range(a.reps):
                times["seq"].append(run(None, args, expect, p))
                for name, ex in pools.items():
                    times[name].append(run(ex, args, expect, p))
            med = {k: statistics.median(v) if v else -1
                   for k, v in times.items()}
            print("cell %d %g %d %.6g %.6g %.6g" % (
                p, g, n, med["seq"], med["process_pool"], med["mpi4py"]),
                flush=True)
            if a.progress:
                print("peers: %d B, %g us done" % (p, g), file=sys.stderr)
    for ex in pools.values():
        ex.shutdown(wait=True)


if __name__ == "__main__":
    main()
