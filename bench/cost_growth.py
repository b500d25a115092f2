#!/usr/bin/python3
"""How a fit's cost grows: seconds per step and peak memory against the
target's size (3x64 up to DeiT-B, 12x768), at f32 and bf16, and against the
upload's size (500 to 20,000 images) at 9x192. Each point is one process of
build/bench/fit_cost_bench, so each peak is its own. Writes
bench/results/cost_params.csv and cost_upload.csv (rows appended, stamped
with the machine and time) and a PNG of each with gnuplot; prints the rows.

  bench/cost_growth.py [--steps=10] [--quick]
"""
import argparse
import csv
import datetime
import json
import os
import platform
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doc_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "bench", "fit_cost_bench")
RESULTS = os.path.join(ROOT, "bench", "results")
DOC = os.path.join(ROOT, "BENCHMARKS.md")
BEGIN, END = "## 9. How a fit's cost grows", "<!-- cost_growth end -->"
SIZES = ["3x64", "6x128", "9x192", "12x384", "12x768"]
UPLOADS = [500, 1000, 2000, 5000, 10000, 20000]
FIELDS = ["depth", "width", "params", "samples", "steps", "batch", "precision", "threads",
          "seconds_per_step", "seconds_fit", "rss_before_bytes", "peak_rss_bytes", "cpu", "utc"]


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def measure(size, samples, steps, precision):
    depth, width = size.split("x")
    out = subprocess.run([BENCH, f"--depth={depth}", f"--width={width}", f"--samples={samples}",
                          f"--steps={steps}", f"--precision={precision}",
                          f"--bank={ROOT}/models/fashion-mnist-vit.safetensors"],
                         check=True, capture_output=True, text=True).stdout
    row = json.loads(out)
    row["cpu"] = cpu_name()
    row["utc"] = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M")
    print(json.dumps(row), flush=True)
    return row


def write(name, rows):
    path = os.path.join(RESULTS, name)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def plot(csv_path, png_path, x_field, x_label, title):
    """Seconds per step (left axis) and peak memory (right) against x, one
    line per precision, log-log."""
    cols = {f: i + 1 for i, f in enumerate(FIELDS)}
    series = []
    for precision in ("f32", "bf16"):
        cond = f'(strcol({cols["precision"]}) eq "{precision}" ? ${cols[x_field]} : 1/0)'
        series.append(f"'{csv_path}' using {cond}:{cols['seconds_per_step']} "
                      f"with linespoints title 's/step, {precision}'")
        series.append(f"'{csv_path}' using {cond}:(${cols['peak_rss_bytes']}/2**20) axes x1y2 "
                      f"with linespoints dashtype 2 title 'peak MiB, {precision}'")
    script = "\n".join([
        "set terminal pngcairo size 900,560", f"set output '{png_path}'",
        "set datafile separator ','", "set key autotitle columnhead left top",
        f"set title '{title}'", f"set xlabel '{x_label}'", "set ylabel 'seconds per fit step'",
        "set y2label 'peak resident MiB'", "set logscale x", "set logscale y",
        "set logscale y2", "set ytics nomirror", "set y2tics", "set grid",
        "plot " + ", ".join(series)])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def table(rows, key, label):
    out = [f"| {label} | params | f32 s/step | bf16 s/step | f32 / bf16 | f32 peak MiB | "
           "bf16 peak MiB |", "|---|---|---|---|---|---|---|"]
    points = {}
    for r in rows:
        points.setdefault(r[key], {})[r["precision"]] = r
    for x, by in points.items():
        f32, bf16 = by.get("f32"), by.get("bf16")
        if not (f32 and bf16):
            continue
        out.append(f"| {x} | {int(f32['params']):,} | {f32['seconds_per_step']:.3f} | "
                   f"{bf16['seconds_per_step']:.3f} | "
                   f"{f32['seconds_per_step'] / bf16['seconds_per_step']:.2f} | "
                   f"{f32['peak_rss_bytes'] / 2**20:.0f} | {bf16['peak_rss_bytes'] / 2**20:.0f} |")
    return out


def section(by_params, by_upload, steps):
    first = by_params[0]
    return [BEGIN, "",
            f"`bench/cost_growth.py --steps={steps}` (run {first['utc']} UTC on {first['cpu']}, "
            f"{first['threads']} threads; rows in `bench/results/cost_params.csv` and "
            "`cost_upload.csv`): one fit per process (`build/bench/fit_cost_bench`), "
            f"{steps} scaler steps of batch 64 without early stopping, the served bank; "
            "seconds per step: the fit's seconds (its steps and the held-out measurement "
            "after them) over its steps; peak resident memory of the whole process (bank and images included). A CPU without "
            "AVX512-BF16 would run both columns in f32.", "",
            "Against the target's size, from 1,000 images "
            "(![plot](bench/results/cost_params.png)):", "",
            *table(by_params, "width", "width (depth: 3, 6, 9, 12, 12)"), "",
            "Against the upload's size, 9x192 (![plot](bench/results/cost_upload.png)):", "",
            *table(by_upload, "samples", "images"), ""]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="two points each, for a test")
    args = parser.parse_args()
    sizes, uploads = (SIZES[:2], UPLOADS[:2]) if args.quick else (SIZES, UPLOADS)
    by_params = [measure(s, 1000, args.steps, p) for s in sizes for p in ("f32", "bf16")]
    by_upload = [measure("9x192", n, args.steps, p) for n in uploads for p in ("f32", "bf16")]
    if args.quick:
        return 0
    os.makedirs(RESULTS, exist_ok=True)
    path = write("cost_params.csv", by_params)
    plot(path, os.path.join(RESULTS, "cost_params.png"), "params", "target parameters",
         f"Fit cost against target size (1,000 images, batch 64, {args.steps} steps)")
    path = write("cost_upload.csv", by_upload)
    plot(path, os.path.join(RESULTS, "cost_upload.png"), "samples", "uploaded images",
         f"Fit cost against upload size (9x192, batch 64, {args.steps} steps)")
    doc_section.splice(DOC, BEGIN, END, section(by_params, by_upload, args.steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
