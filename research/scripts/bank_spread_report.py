#!/usr/bin/python3
"""The spread between banks of one recipe, from research/results/TASK-bank-spread/test.csv
(research/scripts/bank_spread.sh), into spread.md beside it.

For each size and epoch 0, 1 and 5, on the target seeds every bank has there (so
the banks compare on the same targets): each bank's mean over those seeds; the
spread between banks (the standard deviation of the bank means, and the largest
minus the smallest); the spread of target seeds around one bank (the pooled
standard deviation within banks); and the recipe's mean with a 95% t interval
whose unit is the bank (each bank's mean over the target seeds), which holds the
bank's variation and the target seeds' together.

    research/scripts/bank_spread_report.py TASK
"""
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paired import T975  # noqa: E402

EPOCHS = (0, 1, 5)


def load(path):
    acc = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["accuracy"] != "n/a":
                acc[(r["size"], r["method"], int(r["seed"]), int(r["epoch"]))] = float(r["accuracy"])
    return acc


def report(task):
    folder = f"research/results/{task}-bank-spread"
    acc = load(f"{folder}/test.csv")
    sizes = list(dict.fromkeys(k[0] for k in acc))
    banks = sorted({k[1] for k in acc})
    out = [f"# The spread between banks: {task}", "",
           "Made by `research/scripts/bank_spread_report.py` from `test.csv` (do not edit by "
           "hand): accuracy (%) on the test images, on the target seeds every bank has at "
           "that size and epoch. Between banks: the standard deviation of the banks' means "
           "and their range; within: the pooled standard deviation of target seeds around "
           "one bank; the recipe: the mean over banks with a 95% t interval over the banks' "
           "means (banks and target seeds together).", "",
           "| size | epoch | target seeds | " + " | ".join(banks) +
           " | sd between banks | range | sd within a bank | recipe mean [95% over banks] |",
           "|---|---|---|" + "---|" * len(banks) + "---|---|---|---|"]
    for size in sizes:
        for epoch in EPOCHS:
            seeds = sorted(set.intersection(*[
                {k[2] for k in acc if k[0] == size and k[1] == b and k[3] == epoch}
                for b in banks]))
            if not seeds:
                continue
            runs = {b: [acc[(size, b, s, epoch)] for s in seeds] for b in banks}
            means = [statistics.mean(v) for v in runs.values()]
            between = statistics.stdev(means)
            within = (statistics.mean(statistics.variance(v) for v in runs.values()) ** 0.5
                      if len(seeds) > 1 else float("nan"))
            half = T975[len(means) - 1] * between / len(means) ** 0.5
            cells = " | ".join(f"{m:.2f}" for m in means)
            within_cell = f"{within:.2f}" if len(seeds) > 1 else "-"
            out.append(f"| {size} | {epoch} | {','.join(map(str, seeds))} | {cells} | "
                       f"{between:.2f} | {max(means) - min(means):.2f} | {within_cell} | "
                       f"{statistics.mean(means):.2f} [{statistics.mean(means) - half:.2f}, "
                       f"{statistics.mean(means) + half:.2f}] |")
    return "\n".join(out) + "\n"


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    task = sys.argv[1]
    text = report(task)
    with open(f"research/results/{task}-bank-spread/spread.md", "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
