#!/usr/bin/python3
"""The evaluation protocol (research/PROTOCOL.md), end to end and resumable.

Two tasks share one protocol:
  transfer  targets learn Fashion-MNIST classes 5-9 (relabelled 0-4) from a bank
            learned on classes 0-4; tested on all 5,000 test images of classes 5-9.
  main      targets learn all ten classes from the bundled bank (learned on the
            same classes); tested on all 10,000 test images.
Every recipe choice is made on a validation split carved from the training images
(seed 1) by the one rule of selection.py; the final figures are on the test images, over several seeds. Each step
appends to a CSV with --resume, so a rerun continues where the last one stopped;
choices are written to choices.csv.

  research/scripts/protocol.py --task=transfer --eval=runs/eval-bin/wave-eval
  research/scripts/protocol.py --task=main --eval=runs/eval-bin/wave-eval
"""
import argparse
import csv
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from selection import (CHOSEN_ON, FIT_STEPS, FIT_STEPS_LR, LADDER, LRS,  # noqa: E402,F401
                       best, best_rate, choose_inside, rows)

SIZES = ["3x64", "4x96", "12x128", "9x192"]
# The schedule every protocol run trains under (weight decay 0.05 and a cosine
# floor of 1% are wave-eval's, core's TrainLoopOptions).
WARMUP_EPOCHS, BATCH, WEIGHT_DECAY, MIN_LR_RATIO = 0.2, 128, 0.05, 0.01
# The labelled images every method gets before epoch 0 (none held out: the
# protocol's runs set no --fit_held_out).
FEW_SHOT = 1000

TASKS = {
    "transfer": {
        "out": "research/results/transfer",
        "flags": ["--bank=research/banks/transfer/fashion-mnist-0-4-vit.safetensors",
                  "--ancestry=research/banks/transfer/fashion-mnist-0-4-vit.ancestry.safetensors",
                  "--classes=5,6,7,8,9", "--val_samples=2500"],
        "epochs": {"direct": 10},  # every other method: 5
        # WAVE, Direct and WAVE's variants: five seeds; the other baselines three.
        "seeds": "1,2,3,4,5",
        "baseline_seeds": "1,2,3",
        "variant_seeds": "1,2,3,4,5",
        "baselines": ["weight-selection", "heur-lg", "mimetic"],
        # Direct as a whole schedule of each reported length, each with its own
        # rate search: "direct-e1" is one whole epoch, not epoch 1 of ten, and
        # "direct-e5" five (Direct's own 10 epochs are the third).
        "schedules": ["direct-e1", "direct-e5"],
        # The server's fit exactly as served (no fit option set), and the
        # cheap fits measured on the glyph task's validation split (RECIPES),
        # all trained at WAVE's rate.
        "variants": ["wave-default", "wave-b4-p2.5", "wave-b4-p2.5-r30"],
    },
    "main": {
        "out": "research/results/main",
        "flags": ["--bank=models/fashion-mnist-vit.safetensors",
                  "--ancestry=models/fashion-mnist-vit.ancestry.safetensors",
                  "--val_samples=5000"],
        # Direct long enough that its curve has flattened.
        "epochs": {"direct": 20},
        "seeds": "1,2,3,4,5",
        # Five like WAVE's and Direct's: with three, WAVE against Weight
        # Selection at 4x96 was not distinguishable either way.
        "baseline_seeds": "1,2,3,4,5",
        "baselines": ["weight-selection", "heur-lg", "mimetic"],
        # Direct as a whole schedule of each length WAVE is read at, each with
        # its own rate search (Direct's own 20 epochs are the third).
        "schedules": ["direct-e1", "direct-e5"],
        # WAVE's own variants, measured before the fit-steps sweep; tiles selected
        # first (the scheme a default could take), naive resampling after.
        "variants": ["wave-default", "wave-select", "wave-naive"],
        # Test accuracy against image passes for every fit budget.
        "sweep_seeds": "1,2,3",
    },
}
# Every method of the comparison has a rate search of its own: a rate taken
# from WAVE or Direct could lie where only WAVE's start trains well. WAVE's
# variants take WAVE's rate; a method that cannot build a size (n/a) takes the
# rate of the method it resembles, which it never uses.
LR_FROM = {"weight-selection": "wave", "heur-lg": "wave", "mimetic": "direct",
           "wave-naive": "wave", "wave-select": "wave", "wave-default": "wave",
           "wave-b4-p2.5": "wave", "wave-b4-p2.5-r30": "wave"}
# Variants that are WAVE with a fit recipe of their own: its flags replace the
# protocol's fit steps and batch. Both are cheap fits measured on the glyph task's
# validation split (research/results/cheap-fit-glyphs/), at the server's default
# precision (as they would be served): "wave-b4-p2.5" scaler steps at batch 4 for
# at most 2.5 passes over the fit images, checked every 100 steps, a fresh head;
# "wave-b4-p2.5-r30" the same, then the head alone refitted for 30 full-batch steps
# on the features the fitted body gives (the rule's choice there).
CHEAP_FIT = ["--fit_batch=4", "--fit_max_passes=2.5", "--fit_steps=800", "--eval_every=100",
             "--patience=4", "--fit_precision=auto"]
RECIPES = {
    "wave-b4-p2.5": ("wave", CHEAP_FIT),
    "wave-b4-p2.5-r30": ("wave", CHEAP_FIT + ["--fit_head_refit_steps=30"]),
}
SCHEDULE = re.compile(r"(?P<base>.+)-e(?P<epochs>\d+)")


def base_method(method):
    """wave-eval's method of a comparison's method: "direct-e5" is Direct."""
    if method in RECIPES:
        return RECIPES[method][0]
    m = SCHEDULE.fullmatch(method)
    return m.group("base") if m else method


def method_flags(method):
    """wave-eval's flags that name a method and label its rows (a recipe's
    own flags come last in a command, after the protocol's)."""
    base = base_method(method)
    return [f"--methods={base}"] + ([f"--label={method}"] if base != method else [])


def recipe_flags(method):
    return RECIPES[method][1] if method in RECIPES else []


def common(args):
    return [args.eval] + TASKS[args.task]["flags"] + [
        "--train_samples=5000", f"--few_shot={FEW_SHOT}", "--fit_batch=64", f"--batch={BATCH}",
        f"--warmup_epochs={WARMUP_EPOCHS}", f"--threads={args.threads}", f"--out_dir={args.out}",
        "--resume", "--noreport",
    ]


def done(out, flags):
    """Whether the CSV already holds the run `flags` names to its last epoch (or
    as n/a): what wave-eval --resume would skip, known without starting it."""
    f = dict(a[2:].split("=", 1) for a in flags if a.startswith("--") and "=" in a)
    path = os.path.join(out, f["csv"])
    if not os.path.exists(path) or "," in f["seeds"] or "," in f["sizes"]:
        return False
    label = f.get("label", f["methods"])
    return any(r["seed"] == f["seeds"] and r["size"] == f["sizes"] and r["method"] == label and
               (r["epoch"] == f["epochs"] or r["accuracy"] == "n/a") for r in rows(path))


def run(args, extra):
    cmd = common(args) + extra
    if done(args.out, cmd):
        return
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def builds(path, size, label):
    """Whether a run has an accuracy (a method that cannot build a size has n/a)."""
    return any(r["size"] == size and r["method"] == label and r["accuracy"] != "n/a"
               for r in rows(path))


def drop_rows(path, keep):
    """Rewrites a CSV with the rows `keep(row)` accepts; returns how many went."""
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        reader = csv.DictReader(f)
        fields, all_rows = reader.fieldnames, list(reader)
    kept = [r for r in all_rows if keep(r)]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(kept)
    return len(all_rows) - len(kept)


def changed_choices(out, choices):
    """The (size, method) keys of `choices` ({key: (fit_steps, lr)}) whose value
    differs from the last choices.csv in `out`: their test runs were made under
    the old recipe, so the caller drops them and --resume redoes them."""
    before = {(r["size"], r["method"]): (r["fit_steps"], r["lr"])
              for r in rows(os.path.join(out, "choices.csv"))}
    return {k for k, v in choices.items() if k in before and before[k] != v}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=sorted(TASKS), required=True)
    p.add_argument("--eval", default="runs/eval-bin/wave-eval")
    p.add_argument("--out", default="", help="default: the task's folder under research/results")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seeds", default="", help="default: the task's seeds")
    p.add_argument("--sizes", default=",".join(SIZES))
    p.add_argument("--only", default="",
                   help="comma-separated methods: the test runs of these alone (the "
                        "choices are made as always; no sweep)")
    p.add_argument("--no_extras", action="store_true",
                   help="stop after the test runs of the issue's methods (no sweep, no variants)")
    args = p.parse_args()
    task = TASKS[args.task]
    args.out = args.out or task["out"]
    def epochs(method):
        m = SCHEDULE.fullmatch(method)
        return int(m.group("epochs")) if m else task["epochs"].get(method, 5)
    searched = ["direct", "wave"] + task["baselines"] + task.get("schedules", [])
    variants = task.get("variants", [])
    sizes = args.sizes.split(",")
    os.makedirs(args.out, exist_ok=True)
    val_steps = os.path.join(args.out, "val-fit-steps.csv")
    val_lr = os.path.join(args.out, "val-lr.csv")

    # 1. Fit steps (the same budget for every method), by WAVE's validation
    #    accuracy after one epoch; ties go to fewer steps.
    steps = {}
    for size in sizes:
        for s in FIT_STEPS:
            run(args, [f"--csv={os.path.basename(val_steps)}", "--split=val", "--seeds=1",
                       f"--sizes={size}", "--methods=wave", f"--label=wave-s{s}",
                       f"--fit_steps={s}", "--epochs=1", f"--lr={FIT_STEPS_LR}"])
        steps[size] = int(best(val_steps, size, [f"wave-s{s}" for s in FIT_STEPS], 1)[6:])

    # 2. The learning rate of training for every method, by validation
    #    accuracy at its last epoch (Direct first: its search is required).
    lr, chosen_on = {}, {}
    for size in sizes:
        for method in searched:
            def run_rate(rate):
                run(args, [f"--csv={os.path.basename(val_lr)}", "--split=val", "--seeds=1",
                           f"--sizes={size}", f"--methods={base_method(method)}",
                           f"--label={method}-lr{rate}", f"--fit_steps={steps[size]}",
                           f"--epochs={epochs(method)}", f"--lr={rate}"])

            def choose(grid):
                return best_rate(val_lr, size, method, grid, epochs(method))
            run_rate(LRS[0])
            if builds(val_lr, size, f"{method}-lr{LRS[0]}"):
                lr[(size, method)] = choose_inside(LRS, run_rate, choose)
                chosen_on[(size, method)] = CHOSEN_ON
            else:
                lr[(size, method)] = lr[(size, LR_FROM[method])]
                chosen_on[(size, method)] = "n/a at this size"
        for v in variants:
            lr[(size, v)] = lr[(size, LR_FROM[v])]
            chosen_on[(size, v)] = f"the rate chosen for {LR_FROM[v]}"
    methods = searched + variants
    # A changed choice makes the test runs under the old one stale (the sweep
    # trains at WAVE's rate). An n/a method never uses its rate: nothing to redo.
    stale = changed_choices(args.out, {(size, m): (str(steps[size]), lr[(size, m)])
                                       for size in sizes for m in methods
                                       if chosen_on[(size, m)] != "n/a at this size"})
    for size, method in sorted(stale):
        gone = drop_rows(os.path.join(args.out, "test.csv"),
                         lambda r: (r["size"], r["method"]) != (size, method))
        if method == "wave":
            gone += drop_rows(os.path.join(args.out, "sweep.csv"), lambda r: r["size"] != size)
        print(f"{size} {method}: choice changed, {gone} stale test rows dropped", flush=True)
    with open(os.path.join(args.out, "choices.csv"), "w") as f:
        w = csv.writer(f)
        w.writerow(["size", "method", "fit_steps", "lr", "epochs", "chosen_on"])
        for size in sizes:
            for method in methods:
                w.writerow([size, method, steps[size], lr[(size, method)], epochs(method),
                            chosen_on[(size, method)]])

    # 3. The final figures on the test images, seed by seed so that a partial
    #    run still pairs: WAVE and Direct first, then the baselines one at a
    #    time in the task's order, so a partial run has whole baselines.
    only = set(filter(None, args.only.split(",")))

    def test_run(seed, size, method):
        if only and method not in only:
            return
        run(args, ["--csv=test.csv", "--split=test", f"--seeds={seed}",
                   f"--sizes={size}", *method_flags(method),
                   f"--fit_steps={steps[size]}", f"--epochs={epochs(method)}",
                   f"--lr={lr[(size, method)]}", *recipe_flags(method)])

    for seed in (args.seeds or task["seeds"]).split(","):
        for size in sizes:
            for method in ["wave", "direct"]:
                test_run(seed, size, method)
    for method in task["baselines"] + task.get("schedules", []):
        for seed in (args.seeds or task["baseline_seeds"]).split(","):
            for size in sizes:
                test_run(seed, size, method)
    if args.no_extras:
        return

    # 4. WAVE's variants on the test images, before the sweep: they bear on
    #    the comparison, the sweep's third seed only narrows figures its first
    #    two already give.
    for method in task.get("variants", []):
        for seed in (args.seeds or task.get("variant_seeds", task["baseline_seeds"])).split(","):
            for size in sizes:
                test_run(seed, size, method)

    # 5. The fit-steps sweep on the test images (sweep.csv): every budget, the
    #    fit then one epoch, so accuracy can be read against image passes.
    for seed in task["sweep_seeds"].split(",") if "sweep_seeds" in task and not only else []:
        for size in sizes:
            for s in FIT_STEPS:
                run(args, ["--csv=sweep.csv", "--split=test", f"--seeds={seed}",
                           f"--sizes={size}", "--methods=wave", f"--label=wave-s{s}",
                           f"--fit_steps={s}", "--epochs=1", f"--lr={lr[(size, 'wave')]}"])


if __name__ == "__main__":
    main()
