#!/usr/bin/python3
"""The fit's arithmetic, bf16 against f32 (research/scripts/precision.sh): the
server's fit as served, on the transfer task's validation images, paired by
seed. Writes research/results/precision/README.md from its results.csv.

The rule the server's default follows (stated with the 9x192 rows seen and
before the 12x384 rows ran): bf16 where the device has it, if at every size
and at epochs 0 and 1 the lower end of the paired 95% interval of
bf16 - f32 lies above -MARGIN points; f32 otherwise.

  research/scripts/precision_report.py
"""
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paired as paired_stats  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIR = os.path.join(ROOT, "research", "results", "precision")
SIZES = ["9x192", "12x384"]
EPOCHS = [0, 1]
MARGIN = 0.5  # points of accuracy bf16 may lose, at most, for its speed


def load():
    rows = {}
    with open(os.path.join(DIR, "results.csv")) as f:
        for r in csv.DictReader(f):
            assert r["split"] == "val", "a choice is made on validation rows only"
            precision = r["method"].rsplit("-", 1)[1]
            rows[(r["size"], precision, int(r["seed"]), int(r["epoch"]))] = r
    return rows


def spread(values, digits=2):
    if len(values) < 2:
        return f"{values[0]:.{digits}f}" if values else "-"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def main():
    rows = load()
    lines = ["# The fit's arithmetic: bf16 against f32", "",
             "Written by `research/scripts/precision_report.py` from `results.csv`, which "
             "`research/scripts/precision.sh` wrote: the server's fit as served (`wave-default`), "
             "on the transfer task's validation images (classes 5-9, which the bank never saw), "
             "then one epoch of training at 3e-4; seeds paired. Accuracy in percent.", "",
             "| size | epoch | seeds | f32 | bf16 | bf16 - f32, mean [95% interval] | "
             f"above -{MARGIN}? |", "|---|---|---|---|---|---|---|"]
    holds, complete = True, True
    for size in SIZES:
        for epoch in EPOCHS:
            seeds = sorted(s for (sz, p, s, e) in rows
                           if (sz, p, e) == (size, "f32", epoch) and (size, "bf16", s, epoch) in rows)
            acc = {p: [float(rows[(size, p, s, epoch)]["accuracy"]) for s in seeds]
                   for p in ("f32", "bf16")}
            if len(seeds) < 2:
                complete = False
                lines.append(f"| {size} | {epoch} | {len(seeds)} | - | - | not run | - |")
                continue
            mean, half = paired_stats.interval([b - a for a, b in zip(acc["f32"], acc["bf16"])])
            within = mean - half > -MARGIN
            holds = holds and within
            lines.append(f"| {size} | {epoch} | {len(seeds)} | {spread(acc['f32'])} | "
                         f"{spread(acc['bf16'])} | {mean:+.2f} [{mean - half:+.2f}, "
                         f"{mean + half:+.2f}] | {'yes' if within else 'no'} |")
    lines += ["", "Fit seconds (epoch 0 rows: the fit alone, on 2 threads; this machine also "
              "ran builds and tests during these runs, so the speed figures that count are "
              "`BENCHMARKS.md`'s, measured alone):", "",
              "| size | f32 s | bf16 s | f32 / bf16 |", "|---|---|---|---|"]
    for size in SIZES:
        secs = {p: [float(r["seconds"]) for (sz, pp, s, e), r in rows.items()
                    if (sz, pp, e) == (size, p, 0)] for p in ("f32", "bf16")}
        if secs["f32"] and secs["bf16"]:
            ratio = statistics.mean(secs["f32"]) / statistics.mean(secs["bf16"])
            lines.append(f"| {size} | {spread(secs['f32'], 1)} | {spread(secs['bf16'], 1)} | "
                         f"{ratio:.1f} |")
    verdict = ("bf16 is within the margin at every size and epoch: the server's default is "
               "`--fit_precision=auto` (bf16 where the device has it)." if holds and complete
               else "Not every reading is in or within the margin: the server's default is "
               "f32 (`--fit_precision=f32`), bf16 is for who asks (`--precision=bf16`, "
               "`--fit_precision=auto`).")
    lines += ["", f"The rule: bf16 where the device has it, if every interval's lower end "
              f"is above -{MARGIN} points. {verdict}", ""]
    with open(os.path.join(DIR, "README.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
