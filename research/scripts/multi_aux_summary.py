#!/usr/bin/python3
"""One table per reading of research/scripts/multi_aux.sh (validation, then the test
images) and of research/scripts/select_transfer.sh: mean accuracy (%) over the seeds,
by initialization and size, from the committed CSVs.

  research/scripts/multi_aux_summary.py [dir]    # writes DIR/summary.md
"""
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paired as paired_stats  # noqa: E402

LABELS = ["single", "multi", "multi-blend", "single-select", "multi-select",
          "multi-select-narrower", "multi24", "multi24-select-narrower", "wave", "wave-select"]
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


def final_rows(path, method, last_epoch):
    """{(size, seed): (accuracy, seconds)} of `method` at its last epoch."""
    out = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["method"] == method and int(r["epoch"]) == last_epoch and r["accuracy"] != "n/a":
                out[(r["size"], r["seed"])] = (float(r["accuracy"]), float(r["seconds"]))
    return out


def chosen_on_validation(val_path, labels):
    """{size: the labels with the best mean epoch-0 accuracy on validation}
    (several when they tie: the same weights by two routes)."""
    acc = {}
    with open(val_path) as f:
        for r in csv.DictReader(f):
            if int(r["epoch"]) == 0 and r["method"] in labels and r["accuracy"] != "n/a":
                acc.setdefault((r["size"], r["method"]), []).append(float(r["accuracy"]))
    means = {key: round(statistics.mean(v), 6) for key, v in acc.items()}
    top = {}
    for (size, _), mean in means.items():
        top[size] = max(top.get(size, mean), mean)
    best = {}
    for (size, label), mean in means.items():
        if mean == top[size]:
            best.setdefault(size, set()).add(label)
    return best


def against_direct(path, direct_csv, val_path):
    """Each initialization's epoch-0 test accuracy minus Direct's after its 20
    epochs (main protocol, same seeds: same training subset, few-shot and test
    images), paired by seed, and its wall seconds over Direct's; `*` marks the
    initialization chosen for the size on validation (the same reading)."""
    direct = final_rows(direct_csv, "direct", 20)
    chosen = chosen_on_validation(val_path, LABELS) if os.path.exists(val_path) else {}
    lines = ["| initialization | size | seeds | minus Direct's epoch 20, mean [95% interval] | "
             "seconds ratio |", "|---|---|---|---|---|"]
    for label in LABELS:
        mine = final_rows(path, label, 0)
        for size in SIZES:
            seeds = sorted(seed for (sz, seed) in mine if sz == size and (sz, seed) in direct)
            if len(seeds) < 2:
                continue
            diffs = [mine[(size, s)][0] - direct[(size, s)][0] for s in seeds]
            ratio = statistics.mean(mine[(size, s)][1] / direct[(size, s)][1] for s in seeds)
            mean, half = paired_stats.interval(diffs)
            verdict = paired_stats.verdict(mean, half)
            mark = " *" if label in chosen.get(size, ()) else ""
            lines.append(f"| {label}{mark} | {size} | {len(seeds)} | {mean:+.2f} [{mean - half:+.2f}, "
                         f"{mean + half:+.2f}] {verdict} | {ratio:.4f} |")
    return lines


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "research/results/multi-aux"
    out = ["# Accuracy by initialization (means over seeds)", "",
           "Made by `research/scripts/multi_aux_summary.py` from the CSVs beside it; the "
           "per-reading reports with spreads and paired intervals are in the folders "
           "named after each CSV.", ""]
    for sub, split, what in SOURCES:
        for name, epoch, reading in READINGS:
            path = os.path.join(out_dir, sub, f"{split}-{name}.csv")
            if not os.path.exists(path):
                continue
            out += [f"## {what}: {name}, epoch {epoch}", "", reading + ".", ""]
            out += table(path, epoch) + [""]
    direct_csv = os.path.join(out_dir, "..", "main", "test.csv")
    for name in ["s0-bankhead", "s0-probe"]:
        path = os.path.join(out_dir, f"test-{name}.csv")
        if not (os.path.exists(path) and os.path.exists(direct_csv)):
            continue
        out += [f"## Against Direct's final accuracy on the test images: {name}", "",
                "Epoch-0 accuracy minus Direct's after 20 epochs (`../main/test.csv`, the main "
                "protocol's runs with the same seeds: the same training subset, few-shot and "
                "test images), paired by seed; seconds ratio: the initialization's wall seconds "
                "over Direct's (its head fit and 20 epochs), 2 cores. `*`: the initialization "
                "with the best mean accuracy at this reading on validation, for the size.", ""]
        out += against_direct(path, direct_csv,
                              os.path.join(out_dir, f"val-{name}.csv")) + [""]
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
