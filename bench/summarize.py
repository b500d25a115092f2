#!/usr/bin/python3
"""Turns the raw benchmark outputs of run_all.sh into BENCHMARKS.md."""
import argparse
import csv
import json
import os
import platform
import subprocess
import statistics
import time


def bench(path):
    data = json.load(open(path))
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name", "mean") != "mean":
            continue
        name = b["run_name"] if "run_name" in b else b["name"]
        out[name] = b
    return data.get("context", {}), out


def ms(b):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * scale


def stream_parts(path, w):
    """The stream path's CPU cost per byte, part by part, and the rate it allows."""
    _, parts = bench(path)
    rate = {name: b["bytes_per_second"] for name, b in parts.items()}
    # Every streamed byte is hashed once by the server where the file is made
    # (on the fit's thread, before the stream; a cache hit or a resume reuses
    # the digest), copied into a message, serialized and parsed, written to
    # the client's file, and hashed by the client on a thread of its own.
    path_parts = [("sha256 (server, before the stream)", "BM_Sha256"),
                  ("copy into the message", "BM_CopyIntoMessage"),
                  ("serialize + parse", "BM_SerializeAndParse"),
                  ("sha256 (client, its own thread)", "BM_Sha256"),
                  ("write to the file", "BM_FileWrite")]
    w("Where each byte's CPU time goes (`bench/stream_parts_bench`, one core each, same run):\n")
    w("| part | GB/s | ns per byte |")
    w("|---|---|---|")
    total_ns = 0.0
    for label, name in path_parts:
        ns = 1e9 / rate[name]
        total_ns += ns
        w(f"| {label} | {rate[name] / 1e9:.2f} | {ns:.3f} |")
    cores = os.cpu_count() or 1
    w(f"| **sum** | {1 / total_ns:.2f} | {total_ns:.3f} |\n")
    w(f"Not counting the kernel's socket copies and gRPC's framing, these parts alone cap "
      f"streaming at **{cores / total_ns:.2f} GB/s** with all {cores} cores busy on them "
      f"and perfect overlap of server and client. The stream itself carries all but the "
      f"server's hash: {cores / (total_ns - 1e9 / rate['BM_Sha256']):.2f} GB/s on {cores} "
      f"cores; with the client's hash on a thread of its own, its receiving thread "
      f"(parse and write) allows "
      f"{rate['BM_SerializeAndParse'] * rate['BM_FileWrite'] / (rate['BM_SerializeAndParse'] + rate['BM_FileWrite']) / 1e9:.2f} "
      f"GB/s and its hashing thread {rate['BM_Sha256'] / 1e9:.2f} GB/s.\n")


CACHE_TITLE = "## 7. Result cache and several sizes per call"


def cache_section(path, w):
    """bench/results/cache.csv (bench/cache_bench.py) as section 7."""
    rows = list(csv.DictReader(open(path)))
    first = rows[0]
    w(f"{CACHE_TITLE}\n")
    w(f"`bench/cache_bench.py --steps={first['steps']} --threads={first['threads']}` "
      f"(run {first['utc']} UTC; raw rows in `bench/results/cache.csv`): wall time of whole calls through the Python "
      f"client, upload of {first['images']} images included, {first['steps']} fit steps without "
      "early stopping. A miss fits; a hit recomposes the cached scalers and head and streams "
      "the same bytes (checked).\n")
    w("| size | miss s | hit s (median of %d) | hit / miss |" %
      sum(1 for r in rows if r["kind"] == "hit" and r["sizes"] == first["sizes"]))
    w("|---|---|---|---|")
    for size in dict.fromkeys(r["sizes"] for r in rows if r["kind"] == "miss"):
        miss = [float(r["seconds"]) for r in rows if r["kind"] == "miss" and r["sizes"] == size]
        hits = [float(r["seconds"]) for r in rows if r["kind"] == "hit" and r["sizes"] == size]
        w(f"| {size} | {statistics.median(miss):.2f} | {statistics.median(hits):.3f} | "
          f"{statistics.median(hits) / statistics.median(miss):.4f} |")
    one = next(r for r in rows if r["kind"] == "sweep_one_call")
    many = next(r for r in rows if r["kind"] == "sweep_separate_calls")
    w("")
    w(f"Four sizes ({one['sizes']}) on a server without a cache: one call with one upload "
      f"{float(one['seconds']):.2f} s, four calls {float(many['seconds']):.2f} s "
      f"(ratio {float(one['seconds']) / float(many['seconds']):.3f}). The fits dominate both: "
      f"one call saves only the repeated uploads, here {int(one['images']) * 784 / 1e6:.1f} MB "
      "each, which loopback carries in milliseconds; the saving grows with the data and the "
      "network, not measured here.\n")


def splice_cache(path, report):
    """Replaces (or adds) section 7 of an existing BENCHMARKS.md."""
    lines = []
    cache_section(path, lines.append)
    text = open(report).read()
    section = "\n".join(lines) + "\n"
    if CACHE_TITLE in text:
        start = text.index(CACHE_TITLE)
        end = text.index("\n## ", start + 1)
        text = text[:start] + section + text[end + 1:]
    else:
        anchor = text.index("## Reading these figures")
        text = text[:anchor] + section + text[anchor:]
    open(report, "w").write(text)


def concurrency_rows(path, calls):
    """run_all.sh's lines "CLIENTS START END COUNT OUTCOME;COUNT OUTCOME;..."."""
    rows = []
    for line in open(path):
        clients, start, end, outcomes = line.split(" ", 3)
        dt = float(end) - float(start)
        counts = [c.split() for c in outcomes.strip().split(";") if c.strip()]
        served = sum(int(n) for n, what in counts if what == "ok")
        rows.append({"clients": int(clients), "calls": calls, "seconds": dt,
                     "calls_per_s": calls / dt, "served": served, "served_per_s": served / dt,
                     "outcomes": " ".join(f"{n} {what}" for n, what in counts)})
    return rows


def write_concurrency(rows):
    """bench/results/concurrency.csv and a PNG of calls and served calls per
    second against concurrent clients (gnuplot)."""
    results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(results, exist_ok=True)
    path = os.path.join(results, "concurrency.csv")
    fields = ["clients", "calls", "seconds", "calls_per_s", "served", "served_per_s", "outcomes"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    script = "\n".join([
        "set terminal pngcairo size 800,480",
        f"set output '{os.path.join(results, 'concurrency.png')}'",
        "set datafile separator ','", "set key left top", "set grid",
        "set title 'Small Initialize calls against concurrent clients (2 fit slots, 2 queued)'",
        "set xlabel 'concurrent clients'", "set ylabel 'calls per second'", "set logscale x 2",
        f"plot '{path}' using 1:4 with linespoints title 'answered (served or refused)', "
        f"'{path}' using 1:6 with linespoints title 'served'"])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    p = argparse.ArgumentParser()
    for flag in ["compose", "fit", "stream-parts", "stream-json", "stream-first-json",
                 "stream-time", "server-hwm", "server-idle", "file-bytes", "write-seconds", "e2e-json",
                 "e2e-time", "e2e-steps", "concurrency", "calls", "memory", "cache-csv"]:
        p.add_argument("--" + flag)
    p.add_argument("--splice_cache", help="only replace section 7 of this BENCHMARKS.md")
    a = p.parse_args()
    if a.splice_cache:
        splice_cache(a.cache_csv, a.splice_cache)
        return
    lines = []
    w = lines.append
    cpu = subprocess.run(["sh", "-c", "lscpu | grep 'Model name' | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    w("# Benchmarks\n")
    w(f"Machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}; "
      f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; commit {commit}. "
      "Regenerate with `bash bench/run_all.sh`. Every ratio compares figures from the same run.\n")

    ctx, c = bench(a.compose)
    w("## 1. Composition against a plain copy (target: within 2x)\n")
    w("`build/bench/compose_bench --benchmark_filter=Deit --benchmark_repetitions=3`: all "
      "templated weights of the target composed by the single-pass kernel, against copying the "
      "same bytes into fresh tensors that stay alive for the iteration, as the composed ones do "
      "(copy); `copy, reused` frees each output at once, so the same warm block is written "
      "again and again (the cache-friendliest ceiling). All on both cores, with the server's "
      "allocator settings (`KeepLargeAllocationsInHeap`: freed outputs are reused, as in the "
      "server's repeated calls; the first call of a process also pays first-touch page "
      "faults).\n")
    w("| target | N | compose ms | copy ms | ratio | copy, reused ms | ratio | compose GB/s |")
    w("|---|---|---|---|---|---|---|---|")
    for size in ["DeitS_12x384", "DeitB_12x768"]:
        copy = c.get(f"BM_Copy/{size}/real_time")
        reused = c.get(f"BM_CopyReused/{size}/real_time")
        for n in [4, 8, 16]:
            comp = c.get(f"BM_Compose/{size}/{n}/real_time")
            if comp and copy and reused:
                w(f"| {size} | {n} | {ms(comp):.1f} | {ms(copy):.1f} | "
                  f"{ms(comp) / ms(copy):.2f} | {ms(reused):.1f} | {ms(comp) / ms(reused):.2f} | "
                  f"{comp['bytes_per_second'] / 1e9:.2f} |")
    w("")

    _, f = bench(a.fit)
    w("## 2. Fit step against a plain training step (target: within 1.15x)\n")
    w("`build/bench/fit_step_bench`: batch 64; fit step = compose + forward + backward + AdamW "
      "on scalers and head (templates frozen); plain step = forward + backward + AdamW on "
      "ordinary parameters of the same architecture.\n")
    rate = lambda b: b["GFLOP/s"] / 1e9 if b["GFLOP/s"] > 1e6 else b["GFLOP/s"]
    gemm = {p: rate(f[f"BM_Gemm/1024/{i}/real_time"]) if f.get(f"BM_Gemm/1024/{i}/real_time")
            else 0 for i, p in enumerate(["f32", "bf16"])}
    w(f"Machine GEMM (1024x1024 matmul, same run): **{gemm['f32']:.1f} GFLOP/s** in float32, "
      f"**{gemm['bf16']:.1f} GFLOP/s** in bfloat16 (oneDNN). A fit step's rate is compared "
      "with its own precision's GEMM.\n")
    w("| model | step | precision | ms | ratio to plain | achieved GFLOP/s | of GEMM |")
    w("|---|---|---|---|---|---|---|")
    for size in ["DeitS_12x384", "Bank_6x128"]:
        plain = f.get(f"BM_PlainStep/{size}/real_time")
        if not plain:
            continue
        w(f"| {size} | plain | f32 | {ms(plain):.1f} | 1.00 | {rate(plain):.1f} | "
          f"{rate(plain) / gemm['f32']:.2f} |")
        for n in [8, 16]:
            for i, p in enumerate(["f32", "bf16"]):
                fit = f.get(f"BM_FitStep/{size}/{n}/{i}/real_time")
                if fit:
                    w(f"| {size} | fit N={n} | {p} | {ms(fit):.1f} | {ms(fit) / ms(plain):.2f} | "
                      f"{rate(fit):.1f} | {rate(fit) / gemm[p]:.2f} |")
    w("")
    w("Attention alone, one DeiT-S-size layer (64 images x 12 heads, head dimension 32), "
      "forward and backward in float32: the fused CPU kernel (`core/model/attention.h`) "
      "against LibTorch's matmul and softmax, same run.\n")
    w("| tokens | LibTorch ms | fused ms | LibTorch / fused |")
    w("|---|---|---|---|")
    for tokens in [17, 50]:
        by_matmul = f.get(f"BM_Attention/64/0/{tokens}/real_time")
        fused = f.get(f"BM_Attention/64/1/{tokens}/real_time")
        if by_matmul and fused:
            w(f"| {tokens} | {ms(by_matmul):.1f} | {ms(fused):.1f} | "
              f"{ms(by_matmul) / ms(fused):.2f} |")
    w("")

    stream = json.load(open(a.stream_json))
    elapsed, client_kib = open(a.stream_time).read().split()
    size = int(a.file_bytes)
    secs = stream["seconds"]
    w("## 3. Streaming a 100M-parameter target (targets: > 1 GB/s, peak memory < 2x file)\n")
    w("`wave-client init --depth=8 --width=1024 --steps=0` over loopback against `cp` of the "
      "same file.\n")
    w(f"- file: {size / 1e6:.1f} MB, {int(stream['paramCount']) / 1e6:.1f}M parameters")
    first = json.load(open(a.stream_first_json))["seconds"]
    w(f"- server stream phase (the server's second such call): {secs['stream']:.2f} s = "
      f"**{size / secs['stream'] / 1e9:.2f} GB/s**; compose {secs['compose']:.2f} s; hashing "
      f"the file once where it is made {secs.get('hash', 0):.2f} s; whole call as the client "
      f"saw it {float(elapsed):.2f} s = **{size / float(elapsed) / 1e9:.2f} GB/s**")
    w(f"- the server's first call: stream {first['stream']:.2f} s = "
      f"{size / first['stream'] / 1e9:.2f} GB/s; compose {first['compose']:.2f} s")
    w(f"- writing the same bytes to a local file: {float(a.write_seconds):.2f} s = "
      f"{size / max(float(a.write_seconds), 1e-9) / 1e9:.2f} GB/s")
    w(f"- peak resident memory: server {int(a.server_hwm) / 1024:.0f} MiB "
      f"(**{int(a.server_hwm) * 1024 / size:.2f}x** the file), client "
      f"{int(client_kib) / 1024:.0f} MiB (**{int(client_kib) * 1024 / size:.2f}x**)")
    grown = int(a.server_hwm) - int(a.server_idle)
    w(f"- of the server's peak, {int(a.server_idle) / 1024:.0f} MiB was resident before any "
      f"call (LibTorch and the bank); what the calls added: {grown / 1024:.0f} MiB = "
      f"**{grown * 1024 / size:.2f}x** the file\n")
    stream_parts(a.stream_parts, w)

    e2e = json.load(open(a.e2e_json))
    w("## 4. End to end: DeiT-S size (12x384) from 1,000 Fashion-MNIST images\n")
    total = float(open(a.e2e_time).read().split()[0])
    w(f"`wave-client init --depth=12 --width=384 --samples=1000 --steps={a.e2e_steps}`: "
      f"client wall time {total:.2f} s, the fit at the server's default precision "
      f"({e2e.get('fitPrecision', 'f32')}; section 2 has both precisions' steps).\n")
    w("| phase | seconds |")
    w("|---|---|")
    accounted = 0.0
    for phase in ["scaler_init", "fit", "compose", "hash", "stream"]:
        v = e2e["seconds"].get(phase, 0.0)
        accounted += v
        w(f"| {phase} | {v:.2f} |")
    w(f"| upload + validation + queue (server total minus the above) | "
      f"{e2e['seconds']['total'] - accounted:.2f} |")
    w(f"| client-side rest (reading IDX, sampling, writing, hashing) | "
      f"{total - e2e['seconds']['total']:.2f} |")
    w(f"\nFit: {float(e2e['seconds']['fit']) / int(a.e2e_steps):.2f} s per step.\n")

    w("## 5. Concurrency (small Initialize calls; server: 2 fit slots, 2 queued)\n")
    rows = concurrency_rows(a.concurrency, int(a.calls))
    write_concurrency(rows)
    w("Rows in `bench/results/concurrency.csv`, plotted in "
      "![plot](bench/results/concurrency.png).\n")
    w("| clients | calls | seconds | calls/s | served/s | outcomes |")
    w("|---|---|---|---|---|---|")
    for r in rows:
        w(f"| {r['clients']} | {r['calls']} | {r['seconds']:.1f} | {r['calls_per_s']:.2f} | "
          f"{r['served_per_s']:.2f} | {r['outcomes']} |")
    w("\n`ok` succeeded; `(RESOURCE_EXHAUSTED)` is a call refused past the slots and queue "
      "(expected); served/s counts the calls that succeeded.\n")

    idle, after100, after, calls = [int(x) for x in a.memory.split(",")]
    w("## 6. Server memory\n")
    w(f"Resident memory with the bundled bank: idle {idle / 1024:.1f} MiB, after 100 calls "
      f"{after100 / 1024:.1f} MiB, after {calls} calls {after / 1024:.1f} MiB "
      f"(growth from call 100 to {calls}: {(after - after100) / 1024:.1f} MiB).\n")
    if a.cache_csv:
        cache_section(a.cache_csv, w)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
