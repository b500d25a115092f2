#!/usr/bin/python3
"""Compute in FLOPs for a comparison's test runs, with wall seconds beside.

Reads research/results/TASK/test.csv and choices.csv and writes
research/results/TASK/compute.md: for each size and method, the FLOPs and
seconds of the whole run and of the first epoch at which the method's mean
curve reaches Direct's final mean accuracy, as ratios to Direct's whole
schedule; then the banks' one-time cost (research/results/bank_cost.csv) in
FLOPs and seconds and how many targets of the task repay it. Every pass is
costed by flops.py's formula:
    the few-shot fit  WAVE: its backward passes (scalers and head through the
                      whole network) at 3F, its forward passes (held-out
                      checks, features) at F, head steps on cached features at
                      6DC, and the weights' composition at every scaler step
                      (flops.compose_step, the bank's N templates); every other
                      method: a head on a frozen body, F + 4DC per image and step
    training          every image pass at 3F

    research/scripts/compute_report.py TASK [--check]
"""
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flops  # noqa: E402
from protocol import FEW_SHOT, base_method, recipe_flags  # noqa: E402

CLASSES = {"main": 10, "transfer": 5}
HEAD_ONLY_FITS = {"direct", "weight-selection", "heur-lg", "mimetic"}
BANK_SIZE = "6x128"  # every Fashion-MNIST bank's ancestry and auxiliary
TEMPLATES = 16      # every Fashion-MNIST bank's templates per kind (models/README.md)
SERVED_BANK = "fashion-mnist-vit"  # the server's default bank


def load(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def head_steps(choices, size, method):
    for r in choices:
        if r["size"] == size and r["method"] == method:
            return int(r.get("head_steps") or 0)
    return 0


def recipe_int(method, flag, default):
    """A method's recipe's value of `flag` (e.g. "--fit_batch"), else `default`."""
    for f in recipe_flags(method):
        if f.startswith(flag + "="):
            return int(f.split("=", 1)[1])
    return default


def fit_batch(method):
    """The scaler steps' batch of a method's fit: the protocol's 64, or its recipe's."""
    return recipe_int(method, "--fit_batch", 64)


def run_flops(rows, size, method, classes, choices):
    """{epoch: FLOPs so far} of one run's rows (one seed), fit included."""
    by_epoch = {int(r["epoch"]): r for r in rows}
    fit = by_epoch[0]
    fit_passes, fit_forward = float(fit["passes"]), float(fit["forward_passes"])
    forward = flops.forward(*flops.size_of(size), classes)
    if base_method(method) in HEAD_ONLY_FITS:
        fit_cost = fit_passes * flops.frozen_head_pass(size, classes)
    else:
        depth, width = flops.size_of(size)
        batch = fit_batch(method)
        # A head refitted after the steps: full-batch steps over the fit
        # images' features (their forward passes are in fit_forward).
        refit = recipe_int(method, "--fit_head_refit_steps", 0) * FEW_SHOT
        fit_cost = (fit_passes * flops.train_pass(size, classes) + fit_forward * forward +
                    (head_steps(choices, size, method) * batch + refit) *
                    flops.cached_head_step(size, classes) +
                    fit_passes / batch * flops.compose_step(width, TEMPLATES, depth))
    return {e: fit_cost + (float(r["passes"]) - fit_passes) * flops.train_pass(size, classes)
            for e, r in by_epoch.items()}


def curves(task):
    """{(size, method): [(epoch, mean accuracy, mean FLOPs, mean seconds, seeds)]}."""
    folder = f"research/results/{task}"
    rows = [r for r in load(f"{folder}/test.csv") if r["accuracy"] != "n/a"]
    choices = load(f"{folder}/choices.csv")
    runs = {}
    for r in rows:
        runs.setdefault((r["size"], r["method"], r["seed"]), []).append(r)
    per_run = {}
    for (size, method, seed), rs in runs.items():
        costs = run_flops(rs, size, method, CLASSES[task], choices)
        for r in rs:
            e = int(r["epoch"])
            per_run.setdefault((size, method, e), []).append(
                (float(r["accuracy"]), costs[e], float(r["seconds"])))
    out = {}
    for (size, method, e), vals in sorted(per_run.items(), key=lambda kv: kv[0][2]):
        out.setdefault((size, method), []).append(
            (e, statistics.mean(v[0] for v in vals), statistics.mean(v[1] for v in vals),
             statistics.mean(v[2] for v in vals), len(vals)))
    return out


def bank_flops(row, classes):
    """A bank's one-time cost: the ancestry trained, then the auxiliary
    distilled from it (the ancestry's forward pass as teacher)."""
    images = int(row["train_images"])
    forward = flops.forward(*flops.size_of(BANK_SIZE), classes)
    return images * (int(row["ancestry_epochs"]) * 3 * forward +
                     int(row["distill_epochs"]) * (3 * forward + forward))


def sizes_of(c):
    sizes = []
    for size, _ in c:
        if size not in sizes:
            sizes.append(size)
    return sizes


def reaching(c, size):
    """Direct's final mean accuracy at `size`, Direct's whole-schedule (FLOPs,
    seconds), and for each method the first point of its mean curve at or
    above that accuracy (None when it never gets there)."""
    direct = c[(size, "direct")]
    target, d_flops, d_secs = direct[-1][1], direct[-1][2], direct[-1][3]
    hits = {method: next((p for p in curve if p[1] >= target), None)
            for (s, method), curve in c.items() if s == size}
    return target, d_flops, d_secs, hits


def banks_for(task):
    """This task's bank and the bank served by default, each with its FLOPs."""
    banks = {r["bank"]: r for r in load("research/results/bank_cost.csv")}
    own = next(r for r in banks.values() if r["task"] == task)
    names = [own["bank"]] + ([SERVED_BANK] if own["bank"] != SERVED_BANK else [])
    return [(name, banks[name], bank_flops(banks[name], CLASSES[banks[name]["task"]]))
            for name in names]


def repaid(cost, seconds, saved_flops, saved_secs):
    """Targets it takes to repay a bank, by FLOPs and by seconds."""
    by_flops = f"{cost / saved_flops:,.0f}" if saved_flops > 0 else "never"
    by_secs = f"{seconds / saved_secs:,.0f}" if saved_secs > 0 else "never"
    return by_flops, by_secs


def wave_rows(task):
    """Per size, for the README's summary: Direct's final accuracy and epoch,
    WAVE's epoch reaching it, FLOPs and seconds ratios, and the targets that
    repay the served bank (by FLOPs, by seconds); None where Direct is absent."""
    c = curves(task)
    served = next(b for b in banks_for(task) if b[0] == SERVED_BANK)
    out = {}
    for size in sizes_of(c):
        if (size, "direct") not in c or (size, "wave") not in c:
            continue
        target, d_flops, d_secs, hits = reaching(c, size)
        final_epoch = c[(size, "direct")][-1][0]
        hit = hits["wave"]
        if hit is None:
            out[size] = (target, final_epoch, None)
            continue
        e, _, f, secs, _ = hit
        pay = repaid(served[2], float(served[1]["wall_seconds"]), d_flops - f, d_secs - secs)
        out[size] = (target, final_epoch, (e, f / d_flops, secs / d_secs, pay))
    return out


def report(task):
    c = curves(task)
    sizes = sizes_of(c)
    out = [f"# Compute in FLOPs: {task}", "",
           "Made by `research/scripts/compute_report.py` from `test.csv` and `choices.csv` "
           "(do not edit by hand). FLOPs by `research/scripts/flops.py`'s formula (the "
           "passes each kind of step makes, counted apart); seconds as measured, means over "
           "the seeds. The yardstick is Direct's final mean accuracy (the end of its whole "
           "schedule); ratios are to Direct's whole schedule. The fit is what the method "
           "spends before epoch 0 (Direct's: its head on the frozen body).", "",
           "| size | method | seeds | whole run GFLOPs | fit GFLOPs | fit ratio | "
           "reaches Direct's final at epoch | GFLOPs there | FLOPs ratio | seconds there | "
           "seconds ratio |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    savings = {}
    for size in sizes:
        if (size, "direct") not in c:
            continue
        _, d_flops, d_secs, hits = reaching(c, size)
        for (s, method), curve in c.items():
            if s != size:
                continue
            hit = hits[method]
            whole = curve[-1][2] / 1e9
            fit = f"{curve[0][2] / 1e9:,.1f} | {curve[0][2] / d_flops:.4f}"
            if hit is None:
                out.append(f"| {size} | {method} | {curve[-1][4]} | {whole:,.1f} | {fit} | "
                           f"not within {curve[-1][0]} epochs | - | - | - | - |")
                continue
            e, _, f, secs, n = hit
            out.append(f"| {size} | {method} | {n} | {whole:,.1f} | {fit} | {e} | "
                       f"{f / 1e9:,.1f} | {f / d_flops:.3f} | {secs:.1f} | {secs / d_secs:.3f} |")
            if method == "wave":
                savings[size] = (d_flops - f, d_secs - secs)
    out += ["", "What the banks cost once (`research/results/bank_cost.csv`: ancestry epochs "
            "at 3F per image, distillation at 3F for the auxiliary plus F for the ancestry as "
            f"teacher, both {BANK_SIZE}), and how many targets of this task WAVE must "
            "initialize, saving what it saves against Direct on one, to repay it:", "",
            "| bank | PFLOPs | seconds | size | targets by FLOPs | targets by seconds |",
            "|---|---|---|---|---|---|"]
    for name, row, cost in banks_for(task):
        label = name + (" (served by default)" if name == SERVED_BANK else " (this task's)")
        seconds = float(row["wall_seconds"])
        for size in sizes:
            by_flops, by_secs = repaid(cost, seconds, *savings.get(size, (0, 0)))
            out.append(f"| {label} | {cost / 1e15:.3f} | {seconds:,.0f} | {size} | "
                       f"{by_flops} | {by_secs} |")
    return "\n".join(out) + "\n"


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    task = sys.argv[1]
    path = f"research/results/{task}/compute.md"
    text = report(task)
    if "--check" in sys.argv:
        if not os.path.exists(path) or open(path).read() != text:
            sys.exit(f"{path} is stale: run research/scripts/compute_report.py {task}")
        return
    with open(path, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
