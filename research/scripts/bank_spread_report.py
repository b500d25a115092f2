#!/usr/bin/python3
"""The spread between banks of one recipe, from research/results/TASK-bank-spread/test.csv
(research/scripts/bank_spread.sh), into spread.md beside it.

For each size and epoch 0, 1 and 5, on the target seeds every bank has there (so
the banks compare on the same targets): each bank's mean over those seeds; the
spread between banks (the standard deviation of the bank means, and the largest
minus the smallest); the spread of target seeds around one bank (the pooled
standard deviation within banks); and the recipe's mean with a 95% t interval
whose unit is the bank (each bank's mean over the target seeds), which holds the
bank's variation and the target seeds' together. The recipe's banks are the
labels bank-seed*; any other bank in the CSV (a variant of the recipe, such as
bf16-seed1: seed 1's recipe learned at bf16) is set against that interval.

    research/scripts/bank_spread_report.py TASK
"""
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paired import interval, verdict  # noqa: E402

EPOCHS = (0, 1, 5)


def load(path):
    acc = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["accuracy"] != "n/a":
                acc[(r["size"], r["method"], int(r["seed"]), int(r["epoch"]))] = float(r["accuracy"])
    return acc


def seeds_of(acc, size, epoch, banks):
    """The target seeds every one of `banks` has at this size and epoch."""
    return sorted(set.intersection(*[
        {k[2] for k in acc if k[0] == size and k[1] == b and k[3] == epoch} for b in banks]))


def same_seed_bank(other, banks):
    """The recipe's bank learned with the seed `other` names ("bf16-seed2":
    "bank-seed2"), or None."""
    bank = "bank-seed" + other.rpartition("-seed")[2]
    return bank if "-seed" in other and bank in banks else None


def paired_cell(acc, size, epoch, other, bank):
    """`other` minus `bank`, paired by the target seeds both have."""
    seeds = seeds_of(acc, size, epoch, [other, bank])
    if len(seeds) < 2:
        return "-"
    mean, half = interval([acc[(size, other, s, epoch)] - acc[(size, bank, s, epoch)]
                           for s in seeds])
    return f"{mean:+.2f} [{mean - half:+.2f}, {mean + half:+.2f}] {verdict(mean, half)}"


def report(task, path):
    """spread.md's text for `task` from the bank-spread CSV at `path`."""
    acc = load(path)
    sizes = list(dict.fromkeys(k[0] for k in acc))
    labels = sorted({k[1] for k in acc})
    banks = [b for b in labels if b.startswith("bank-seed")]
    others = [b for b in labels if b not in banks]
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
            seeds = seeds_of(acc, size, epoch, banks)
            if not seeds:
                continue
            runs = {b: [acc[(size, b, s, epoch)] for s in seeds] for b in banks}
            means = [statistics.mean(v) for v in runs.values()]
            within = (statistics.mean(statistics.variance(v) for v in runs.values()) ** 0.5
                      if len(seeds) > 1 else float("nan"))
            mean, half = interval(means)
            cells = " | ".join(f"{m:.2f}" for m in means)
            within_cell = f"{within:.2f}" if len(seeds) > 1 else "-"
            out.append(f"| {size} | {epoch} | {','.join(map(str, seeds))} | {cells} | "
                       f"{statistics.stdev(means):.2f} | {max(means) - min(means):.2f} | "
                       f"{within_cell} | {mean:.2f} [{mean - half:.2f}, {mean + half:.2f}] |")
    if others:
        out += ["", "Other banks set against the recipe's interval, on the target seeds they "
                "share with every recipe bank, and minus the recipe's bank of the same seed, "
                "paired by target seed:", "",
                "| size | epoch | target seeds | bank | its mean | recipe mean [95% over banks] "
                "| where | minus the same seed's bank [95%] |", "|---|---|---|---|---|---|---|---|"]
        for size in sizes:
            for epoch in EPOCHS:
                for other in others:
                    seeds = seeds_of(acc, size, epoch, banks + [other])
                    if not seeds:
                        continue
                    mean, half = interval([statistics.mean(acc[(size, b, s, epoch)] for s in seeds)
                                           for b in banks])
                    its = statistics.mean(acc[(size, other, s, epoch)] for s in seeds)
                    where = ("below" if its < mean - half else
                             "above" if its > mean + half else "inside")
                    bank = same_seed_bank(other, banks)
                    same = paired_cell(acc, size, epoch, other, bank) if bank else "-"
                    out.append(f"| {size} | {epoch} | {','.join(map(str, seeds))} | {other} | "
                               f"{its:.2f} | {mean:.2f} [{mean - half:.2f}, {mean + half:.2f}] "
                               f"| {where} | {same} |")
    return "\n".join(out) + "\n"


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    task = sys.argv[1]
    folder = f"research/results/{task}-bank-spread"
    text = report(task, f"{folder}/test.csv")
    with open(f"{folder}/spread.md", "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
