#!/usr/bin/env python3
"""The cheap-fit comparison's table (research/scripts/cheap_fit.sh), from its CSV.

For each recipe and size: what the fit cost before epoch 0, in image passes
with a backward pass, forward-only passes and wall seconds (2-core machine,
one thread), and as passes over the 1,000 uploaded images; then accuracy at
epochs 0, 1 and 5, mean and standard deviation over the seeds. Then the
protocol's selection rule (selection.py) applied to the rows (validation only).

    research/scripts/cheap_fit_report.py [val|test]   # writes research/results/cheap-fit-glyphs/<split>.md
"""
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flops  # noqa: E402
import paired as paired_stats  # noqa: E402
import selection  # noqa: E402

UPLOADED = 1000     # images each recipe's fit was given (--few_shot)
MAX_PASSES = 3      # the cost bound of the selection rule: forward+backward passes
# Each recipe's scaler-step batch and trained blocks (0: every block), as
# cheap_fit.sh runs it: what its composition of the weights costs.
RECIPES = {"today": (64, 0), "head300": (64, 0), "head300-s43": (64, 0), "s43": (64, 0),
           "direct": (64, 0), "wave-default": (64, 0), "b16-p3": (16, 0), "b8-p3": (8, 0),
           "b8-p3-e50": (8, 0), "head300-b8-p3": (8, 0), "b4-p3": (4, 0), "t1-b8-p3": (8, 1),
           "b2-p3": (2, 0), "t1-b4-p3": (4, 1), "b4-p2.5": (4, 0),
           "b4-p2.5-r300": (4, 0), "b4-p2.5-r100": (4, 0), "b4-p2.5-r30": (4, 0),
           "b4-p2.5-bh": (4, 0)}
# The head's full-batch refit steps after the scaler steps (fit.head_refit_steps),
# over the fit images' features: the upload less the 100 held out.
REFIT_STEPS = {"b4-p2.5-r300": 300, "b4-p2.5-r100": 100, "b4-p2.5-r30": 30}
FIT_IMAGES = UPLOADED - 100
# The glyph bank's geometry (research/banks/glyphs-ae/README.md): 32x32 RGB
# images in 8x8 patches, 8 templates per kind, 5 classes.
IMAGE, PATCH, CHANNELS, TEMPLATES, CLASSES = 32, 8, 3, 8, 5
SERVED = "wave-default"  # the server's own fit, as served: a reference, never a candidate
LAST_EPOCH = 5      # every recipe's schedule


def fit_cost(recipe, size, passes, forward_passes):
    """A fit's whole cost in forward+backward passes of one image through the
    whole network (flops.py's 3F): the steps' passes as recorded (a step
    through k of L blocks already counted as k/L), forward-only passes at a
    third, and the composition of the trained weights at every step: 2N
    FLOPs per composed element forward and 2N for the scalers' gradient
    (N templates), (passes / batch) * (L / k) steps over the k trained blocks'
    parameters; a head refitted after the steps adds its head steps on the
    fit images' features (flops.cached_head_step). Direct's weights are plain
    tensors: nothing to compose."""
    depth, width = (int(x) for x in size.split("x"))
    batch, tail = RECIPES[recipe]
    trained = tail or depth
    train_pass = 3 * flops.forward(depth, width, CLASSES, CHANNELS, image=IMAGE, patch=PATCH)
    steps = passes / batch * depth / trained
    compose = 0 if recipe == "direct" else steps * flops.compose_step(width, TEMPLATES, trained)
    refit = REFIT_STEPS.get(recipe, 0) * FIT_IMAGES * flops.cached_head_step(size, CLASSES)
    return passes + forward_passes / 3 + (compose + refit) / train_pass


def load(path):
    rows = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            # A run restarted with --resume may repeat epochs: the last row counts.
            rows[(r["method"], r["size"], int(r["seed"]), int(r["epoch"]))] = r
    return rows


def stat(values, digits=1):
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def rule(rows):
    """The protocol's rule (selection.py) on validation rows. Every recipe's
    mean accuracy at the schedule's last epoch over the (size, seed) runs all
    recipes have (so that no recipe is helped or hurt by sizes the others
    lack), its largest fit cost in passes over the upload, the eligible WAVE
    recipes (within the cost cap, applied before the rule), the chosen one (or
    None) and the number of runs the means cover."""
    last, passes = {}, {}
    for (recipe, size, seed, epoch), r in rows.items():
        if epoch != LAST_EPOCH:
            continue
        last.setdefault(recipe, {})[(size, seed)] = float(r["accuracy"])
        fit = rows[(recipe, size, seed, 0)]
        passes.setdefault((recipe, size), []).append(
            fit_cost(recipe, size, float(fit["passes"]), float(fit["forward_passes"])))
    cost = {}  # the largest, over sizes, of the mean over seeds
    for (recipe, size), p in passes.items():
        cost[recipe] = max(cost.get(recipe, 0), statistics.mean(p) / UPLOADED)
    common = set.intersection(*(set(v) for v in last.values())) if last else set()
    mean = {r: statistics.mean(v[k] for k in common) for r, v in last.items()} if common else {}
    eligible = [r for r in RECIPES if r in mean and r not in ("direct", SERVED)
                and cost[r] <= MAX_PASSES]
    chosen = selection.highest({r: mean[r] for r in eligible}, eligible)
    return mean, cost, eligible, chosen, len(common)


def paired(rows, a, b, size, epoch):
    seeds = sorted({k[2] for k in rows if k[1] == size and (a, size, k[2], epoch) in rows
                    and (b, size, k[2], epoch) in rows})
    d = [float(rows[(a, size, s, epoch)]["accuracy"]) - float(rows[(b, size, s, epoch)]["accuracy"])
         for s in seeds]
    if len(d) < 2:
        return "-"
    m, h = paired_stats.interval(d)
    return f"{m:+.1f} [{m - h:+.1f}, {m + h:+.1f}] {paired_stats.verdict(m, h)} (n={len(d)})"


def main():
    split = sys.argv[1] if len(sys.argv) > 1 else "val"
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    folder = "research/results/cheap-fit-glyphs"
    rows = load(f"{folder}/{split}.csv")
    sizes = sorted({k[1] for k in rows}, key=lambda s: [int(x) for x in s.split("x")])
    out = [f"# Cheap fits on letters the bank never saw ({split} split)", "",
           "Made by `research/scripts/cheap_fit_report.py` from "
           f"`{split}.csv` (do not edit by hand). Fit cost before epoch 0: image passes with a "
           "backward pass (a step through k of L blocks counts k/L), forward-only passes, and "
           "the whole fit in forward+backward passes over the "
           f"{UPLOADED:,} uploaded images (forward passes at a third, the weights' composition "
           "at every step added: `fit_cost` in the script); accuracy mean ± standard "
           "deviation over seeds.", "",
           "| size | recipe | seeds | backward passes | forward passes | whole fit over the "
           "upload | fit seconds | epoch 0 | epoch 1 | epoch 5 |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        for recipe in RECIPES:
            seeds = sorted({k[2] for k in rows if k[0] == recipe and k[1] == size
                            and (recipe, size, k[2], 5) in rows})
            if not seeds:
                continue
            fit = [rows[(recipe, size, s, 0)] for s in seeds]
            back = [float(r["passes"]) for r in fit]
            fwd = [float(r["forward_passes"]) for r in fit]
            secs = [float(r["seconds"]) for r in fit]
            acc = {e: [float(rows[(recipe, size, s, e)]["accuracy"]) for s in seeds]
                   for e in (0, 1, 5)}
            over = statistics.mean(fit_cost(recipe, size, b, f) for b, f in zip(back, fwd))
            out.append(f"| {size} | {recipe} | {len(seeds)} | {statistics.mean(back):,.0f} | "
                       f"{statistics.mean(fwd):,.0f} | {over / UPLOADED:.2f} | {stat(secs, 2)} | "
                       f"{stat(acc[0])} | {stat(acc[1])} | {stat(acc[5])} |")
    # Compute to reach today's epoch-1 accuracy: on each recipe's mean curve
    # (seeds averaged per epoch), the first epoch at or above it, and the
    # cumulative image passes with a backward pass (fit and training) and
    # seconds there.
    out += ["", "Compute to first reach the served default's mean epoch-1 accuracy, on each "
            "recipe's mean curve (image passes with a backward pass, fit and training; "
            "ratio to the default's own at its epoch 1):", "",
            "| size | target | recipe | at epoch | passes | ratio | seconds | ratio |",
            "|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        curves = {}
        for recipe in RECIPES:
            seeds = sorted({k[2] for k in rows if k[0] == recipe and k[1] == size
                            and (recipe, size, k[2], 5) in rows})
            if seeds:
                curves[recipe] = [
                    (statistics.mean(float(rows[(recipe, size, s, e)]["accuracy"]) for s in seeds),
                     statistics.mean(int(rows[(recipe, size, s, e)]["passes"]) for s in seeds),
                     statistics.mean(float(rows[(recipe, size, s, e)]["seconds"]) for s in seeds))
                    for e in range(6)]
        if "today" not in curves:
            continue
        target, base_passes, base_secs = curves["today"][1]
        for recipe, curve in curves.items():
            hit = next((e for e, (a, _, _) in enumerate(curve) if a >= target), None)
            if hit is None:
                out.append(f"| {size} | {target:.1f}% | {recipe} | not within 5 epochs | - | - | - | - |")
                continue
            _, passes, secs = curve[hit]
            out.append(f"| {size} | {target:.1f}% | {recipe} | {hit} | {passes:,.0f} | "
                       f"{passes / base_passes:.2f} | {secs:.1f} | {secs / base_secs:.2f} |")
    for name, how in [("fit-9x192.csv", "fit seconds on one thread, f32"),
                      ("fit-9x192-served.csv", "fit seconds on both cores, at the server's "
                       "default precision (bf16 where the CPU has it)")]:
        fits = f"{folder}/{name}"
        if split != "val" or not os.path.exists(fits):
            continue
        fit_rows = load(fits)
        out += ["", f"The fits alone at 9x192 (`{name}`: validation, no training after; "
                f"{how}):", "",
                "| recipe | seeds | backward passes | forward passes | whole fit over the upload | "
                "fit seconds | epoch 0 |", "|---|---|---|---|---|---|---|"]
        for recipe in RECIPES:
            got = [fit_rows[k] for k in sorted(fit_rows) if k[0] == recipe and k[3] == 0]
            if not got:
                continue
            back = statistics.mean(float(r["passes"]) for r in got)
            whole = statistics.mean(fit_cost(recipe, "9x192", float(r["passes"]),
                                             float(r["forward_passes"])) for r in got)
            out.append(f"| {recipe} | {len(got)} | {back:,.0f} | "
                       f"{statistics.mean(float(r['forward_passes']) for r in got):,.0f} | "
                       f"{whole / UPLOADED:.2f} | "
                       f"{stat([float(r['seconds']) for r in got], 2)} | "
                       f"{stat([float(r['accuracy']) for r in got])} |")
    if split == "val":
        mean, cost, eligible, chosen, runs = rule(rows)
        out += ["", f"The protocol's rule (research/PROTOCOL.md): among the WAVE recipes whose "
                f"whole fit costs at most {MAX_PASSES} forward+backward passes over the upload at "
                f"every size (held-out checks and composition included), the "
                f"highest mean accuracy at epoch {LAST_EPOCH} (the schedule's last) over the "
                f"{runs} (size, seed) runs every recipe has."]
        for r in sorted(mean, key=lambda r: -mean[r]):
            mark = ("eligible" if r in eligible else "baseline" if r == "direct"
                    else "the served default" if r == SERVED else "over the cost bound")
            out.append(f"- {r}: mean epoch-{LAST_EPOCH} accuracy {mean[r]:.2f}%, at most "
                       f"{cost[r]:.2f} passes over the upload: {mark}")
        if chosen:
            out.append(f"\nChosen on these runs: **{chosen}**.")
    if split == "test" and os.path.exists(f"{folder}/val.csv"):
        chosen = rule(load(f"{folder}/val.csv"))[3]
        if chosen:
            out += ["", f"The recipe chosen on validation (`val.md`): **{chosen}**. It minus the "
                    "served default, paired by seed, mean [95% t interval], points of test "
                    "accuracy:", "", "| size | epoch 0 | epoch 1 | epoch 5 |", "|---|---|---|---|"]
            for size in sizes:
                out.append(f"| {size} | " + " | ".join(paired(rows, chosen, "today", size, e)
                                                     for e in (0, 1, 5)) + " |")
            if any(k[0] == SERVED for k in rows):
                out += ["", f"The same against the server's fit exactly as served (`{SERVED}`: "
                        "no fit option set, so the bank's head where the class count matches):",
                        "", "| size | epoch 0 | epoch 1 | epoch 5 |", "|---|---|---|---|"]
                for size in sizes:
                    out.append(f"| {size} | " + " | ".join(paired(rows, chosen, SERVED, size, e)
                                                         for e in (0, 1, 5)) + " |")
    with open(f"{folder}/{split}.md", "w") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
