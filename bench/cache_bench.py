#!/usr/bin/python3
"""The result cache and several sizes per call, end to end through the Python
client against a real wave-server on loopback.

  miss/hit   the same request twice or more: the first fits, the rest are
             served from the cache (recomposed and streamed); wall time of the
             whole call as a client sees it, upload included.
  sweep      four sizes from one upload in one call, against four calls (each
             uploading again), on a server without a cache so neither profits.

Writes bench/results/cache.csv (one row per timed call); `summarize.py
--cache_csv` turns it into BENCHMARKS.md's section 7.

  bench/cache_bench.py [--steps=50] [--threads=2]
"""
import argparse
import csv
import os
import socket
import subprocess
import sys
import time

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(SOURCE, "client", "python"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "python"))
import wave_init  # noqa: E402
from conftest import read_idx  # noqa: E402

FASHION = "/usr/share/datasets/fashion-mnist"
SWEEP = ["3x64", "4x96", "12x128", "9x192"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, build, bank, threads, *extra):
        self.address = f"127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [os.path.join(build, "server", "wave-server"), f"--banks={bank}",
             f"--address={self.address}", "--metrics_port=0", f"--threads={threads}",
             "--max_target_params=150000000", *extra], stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                with wave_init.Client(self.address) as c:
                    if c.health(deadline=1) == "SERVING":
                        return
            except wave_init.WaveInitError:
                time.sleep(0.2)
        raise TimeoutError("wave-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(SOURCE, "build"))
    p.add_argument("--bank", default=os.path.join(SOURCE, "models", "fashion-mnist-vit.safetensors"))
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--hits", type=int, default=5)
    p.add_argument("--out", default=os.path.join(SOURCE, "bench", "results", "cache.csv"))
    a = p.parse_args()
    x = read_idx(f"{FASHION}/t10k-images-idx3-ubyte.gz")[:1000].copy()
    y = read_idx(f"{FASHION}/t10k-labels-idx1-ubyte.gz")[:1000].astype("int64")
    fit = dict(steps=a.steps, patience=0, seed=1)
    rows = []

    server = Server(a.build, a.bank, a.threads)
    try:
        with wave_init.Client(server.address) as c:
            for size in ["9x192", "12x384"]:
                d, w = map(int, size.split("x"))
                seconds, r = timed(lambda: c.initialize(d, w, 10, x, y, **fit))
                assert not r.summary.cache_hit
                rows.append(["miss", size, 1, f"{seconds:.4f}", r.summary.model_bytes])
                for _ in range(a.hits):
                    seconds, h = timed(lambda: c.initialize(d, w, 10, x, y, **fit))
                    assert h.summary.cache_hit and h.model_file == r.model_file
                    rows.append(["hit", size, 1, f"{seconds:.4f}", h.summary.model_bytes])
                print(size, "done", file=sys.stderr, flush=True)
    finally:
        server.stop()

    server = Server(a.build, a.bank, a.threads, "--cache_bytes=0")
    try:
        with wave_init.Client(server.address) as c:
            seconds, results = timed(lambda: c.initialize_sizes(SWEEP, 10, x, y, **fit))
            rows.append(["sweep_one_call", ",".join(SWEEP), 1, f"{seconds:.4f}",
                         sum(r.summary.model_bytes for r in results.values())])
            total, size_bytes = 0.0, 0
            for size in SWEEP:
                d, w = map(int, size.split("x"))
                seconds, r = timed(lambda: c.initialize(d, w, 10, x, y, **fit))
                assert r.model_file == results[size].model_file  # the same fits
                total += seconds
                size_bytes += r.summary.model_bytes
            rows.append(["sweep_separate_calls", ",".join(SWEEP), len(SWEEP), f"{total:.4f}",
                         size_bytes])
    finally:
        server.stop()

    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["kind", "sizes", "calls", "steps", "threads", "images", "seconds",
                      "model_bytes", "utc"])
        utc = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
        for kind, sizes, calls, seconds, size_bytes in rows:
            out.writerow([kind, sizes, calls, a.steps, a.threads, len(y), seconds, size_bytes,
                          utc])
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
