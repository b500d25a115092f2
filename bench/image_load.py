#!/usr/bin/python3
"""Reading images (core/data) against its targets: 20,000 PNG files of 32x32
at >= 5,000 images/s on this machine's cores, peak memory <= 2x the decoded
data. Runs build/bench/image_load_bench on synthetic random PNGs (and on the
glyph data set's training folder when it exists), writes
bench/results/image_load.csv and the section "Reading images" of
BENCHMARKS.md from it.

  /usr/bin/python3 bench/image_load.py [--bench=build/bench/image_load_bench]
"""
import argparse
import csv
import datetime
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doc_section  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CSV = os.path.join(ROOT, "bench", "results", "image_load.csv")
DOC = os.path.join(ROOT, "BENCHMARKS.md")
BEGIN, END = "## 8. Reading images", "<!-- image_load end -->"


def measure(bench, label, *flags):
    out = subprocess.run([bench, *flags], check=True, capture_output=True, text=True).stdout
    header, values = out.strip().splitlines()[-2:]
    row = dict(zip(header.split(","), values.split(",")))
    row["data"] = label
    return row


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench", default=os.path.join(ROOT, "build", "bench", "image_load_bench"))
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    utc = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M")
    rows = []
    for r in range(args.repeats):
        rows.append(measure(args.bench, "random 32x32 RGB PNG", "--images=20000", "--side=32"))
        glyphs = os.path.join(ROOT, "data", "glyphs", "train")
        if os.path.isdir(glyphs):
            rows.append(measure(args.bench, "glyphs train folder", f"--folder={glyphs}"))
    for row in rows:
        row.update(cpus=os.cpu_count(), utc=utc)
    fields = ["data", "images", "seconds", "images_per_s", "decoded_mb", "peak_rss_growth_mb",
              "ratio", "cpus", "utc"]
    with open(CSV, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows({k: row[k] for k in fields} for row in rows)
    lines = [BEGIN + " (targets: >= 5,000 images/s, peak memory <= 2x the decoded data)", "",
             f"`bench/image_load.py` (run {utc} UTC, {os.cpu_count()} cores; rows in "
             "`bench/results/image_load.csv`): `ReadImageFolder` on 20,000 PNG files of 32x32 "
             "RGB (in the page cache: written or read just before), decoded by libpng on every core into one set; the peak resident memory the "
             "read added, against the decoded pixels. Median of the repeats:", "",
             "| data | images/s | decoded MB | peak growth MB | ratio |", "|---|---|---|---|---|"]
    for label in dict.fromkeys(r["data"] for r in rows):
        mine = sorted((r for r in rows if r["data"] == label), key=lambda r: float(r["images_per_s"]))
        m = mine[len(mine) // 2]
        lines.append(f"| {label} | {float(m['images_per_s']):,.0f} | {m['decoded_mb']} | "
                     f"{m['peak_rss_growth_mb']} | {m['ratio']} |")
    doc_section.splice(DOC, BEGIN, END, lines)


if __name__ == "__main__":
    main()
