#!/usr/bin/python3
"""One table per reading of scripts/eval/multi_aux.sh (validation, then the test
images) and of scripts/eval/select_transfer.sh: mean accuracy (%) over the seeds,
by initialization and size, from the committed CSVs.

  scripts/eval/multi_aux_summary.py [dir]    # writes DIR/summary.md
"""
import csv
import os
import statistics
import sys

LABELS = ["single", "multi", "multi-blend", "single-select", "multi-select",
          "multi-select-narrower", "wave", "wave-select"]
SIZES = ["3x64", "4x96", "12x128", "9x192", "6x160"]
READINGS = [("s0-bankhead", 0, "zero fit steps, the head resampled from the bank's"),
            ("s0-probe", 0, "zero scaler steps, a fresh head fitted alone for 300 steps"),
            ("s50", 0, "50 fit steps (scalers and a fresh head)"),
            ("s50", 1, "50 fit steps, then one epoch of training")]


def table(path, epoch):
    acc = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if int(r["epoch"]) == epoch and r["accuracy"] != "n/a":
                acc.setdefault((r["method"], r["size"]), []).append(float(r["accuracy"]))
    lines = ["| initialization | " + " | ".join(SIZES) + " | seeds |",
             "|---|" + "---|" * (len(SIZES) + 1)]
    for label in LABELS:
        cells = [acc.get((label, s)) for s in SIZES]
        if not any(cells):
            continue
        seeds = max(len(c) for c in cells if c)
        lines.append(f"| {label} | " + " | ".join(
            f"{statistics.mean(c):.2f}" if c else "-" for c in cells) + f" | {seeds} |")
    return lines


SOURCES = [("", "val", "main task, validation (images the banks were trained on)"),
           ("", "test", "main task, the 10,000 test images (after the choice)"),
           ("transfer", "val", "transfer task, validation (classes 5-9, never seen by its "
                               "bank; wave = structured, wave-select = select)")]


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "docs/eval/multi-aux"
    out = ["# Accuracy by initialization (means over seeds)", "",
           "Made by `scripts/eval/multi_aux_summary.py` from the CSVs beside it; the "
           "per-reading reports with spreads and paired intervals are in the folders "
           "named after each CSV.", ""]
    for sub, split, what in SOURCES:
        for name, epoch, reading in READINGS:
            path = os.path.join(out_dir, sub, f"{split}-{name}.csv")
            if not os.path.exists(path):
                continue
            out += [f"## {what}: {name}, epoch {epoch}", "", reading + ".", ""]
            out += table(path, epoch) + [""]
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
