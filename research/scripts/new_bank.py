#!/usr/bin/python3
"""A candidate bank under the evaluation protocol: WAVE from another
bank, set against a task's comparison (research/results/TASK/test.csv) seed by seed.
Both recipes use the same schemes: tiles selected across a width, scalers
from the nearest auxiliary no wider than the target (research/results/multi-aux).

--recipe=zero-step (out research/results/TASK-multi24, label wave-multi24): the
initialization fixed in advance by the multi-aux validation readings of the
main task (research/results/multi-aux/summary.md): zero scaler steps and a fresh head
fitted alone for 300 steps on the body's features (`s0-probe`). What is chosen
here, on the task's validation split with seed 1, is the training learning
rate, from {1e-4, 3e-4, 1e-3} growing on the ladder, by the one rule of
selection.py (research/PROTOCOL.md): accuracy at the schedule's last epoch.

--recipe=fitted (out research/results/TASK-multi24-fitted, label wave-multi24-fit):
the task protocol's own WAVE recipe, chosen on the task's validation split
(seed 1) as research/scripts/protocol.py chose it for the single-auxiliary bank:
the few-shot steps of scalers and a fresh head together from
{0, 25, 50, 100, 200, 400} by accuracy after one epoch at 1e-3 (ties: fewer),
then the training rate from {3e-4, 1e-3, 3e-3} (growing on the ladder) by
accuracy at epoch 5, the schedule's last. So the two banks' WAVE differ only in the bank and
its schemes.

The baselines keep their runs and recipes.

  research/scripts/new_bank.py --task=main --eval=runs/eval-bin/wave-eval
  research/scripts/new_bank.py --task=transfer --eval=runs/eval-bin/wave-eval \\
    --bank=research/banks/transfer/multi-aux-24/fashion-mnist-0-4-vit-multiaux24.safetensors
  research/scripts/new_bank.py --task=transfer --recipe=fitted --eval=runs/eval-bin/wave-eval \\
    --bank=research/banks/transfer/multi-aux-24/fashion-mnist-0-4-vit-multiaux24.safetensors
then the reports (against every method of the task's comparison, and the
validation runs the choices came from) with the task's: research/scripts/report.sh TASK
"""
import argparse
import csv
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol import SIZES, TASKS, changed_choices, drop_rows  # noqa: E402
from selection import (CHOSEN_ON, FIT_STEPS, FIT_STEPS_LR, LRS as PROTOCOL_LRS,  # noqa: E402
                       best, best_rate, choose_inside)

RECIPES = {
    "zero-step": {"suffix": "multi24", "label": "wave-multi24", "lrs": ["1e-4", "3e-4", "1e-3"]},
    "fitted": {"suffix": "multi24-fitted", "label": "wave-multi24-fit", "lrs": PROTOCOL_LRS},
}
EPOCHS = 5  # the schedule every recipe is chosen and tested with


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=sorted(TASKS), default="main")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="zero-step")
    p.add_argument("--eval", default="runs/eval-bin/wave-eval")
    p.add_argument("--bank", default="models/multi-aux-24/fashion-mnist-vit-multiaux24.safetensors")
    p.add_argument("--out", default="", help="default: research/results/TASK-SUFFIX (the recipe's)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seeds", default="", help="default: the task's seeds")
    p.add_argument("--sizes", default=",".join(SIZES))
    p.add_argument("--lr", default="",
                   help="the training rate, fixed (no validation runs): for a task that "
                        "takes the rate chosen on another task's validation split")
    args = p.parse_args()
    args.seeds = args.seeds or TASKS[args.task]["seeds"]
    recipe = RECIPES[args.recipe]
    label = recipe["label"]
    args.out = args.out or f"research/results/{args.task}-{recipe['suffix']}"
    os.makedirs(args.out, exist_ok=True)
    sizes = args.sizes.split(",")
    # The task's data flags (classes, validation size, ancestry), this bank.
    task_flags = [f for f in TASKS[args.task]["flags"] if not f.startswith("--bank=")]
    common = [args.eval, *task_flags, "--train_samples=5000", "--few_shot=1000",
              "--fit_batch=64", "--batch=128", "--warmup_epochs=0.2",
              f"--threads={args.threads}", f"--out_dir={args.out}", "--resume", "--noreport",
              "--methods=wave-select", "--aux_mix=narrower", f"--bank={args.bank}"]

    def run(extra):
        cmd = common + extra
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)

    def val(csv_name, size, label_, extra):
        run([f"--csv={csv_name}", "--split=val", "--seeds=1", f"--sizes={size}",
             f"--label={label_}", *extra])
        return os.path.join(args.out, csv_name)

    def chosen_steps(size):
        """Scalers and head together, by validation accuracy after one epoch."""
        if args.recipe == "zero-step":
            return 0
        for s in FIT_STEPS:
            path = val("val-fit-steps.csv", size, f"{label}-s{s}",
                       [f"--fit_steps={s}", "--epochs=1", f"--lr={FIT_STEPS_LR}"])
        return int(best(path, size, [f"{label}-s{s}" for s in FIT_STEPS], 1).rsplit("-s", 1)[1])

    def fit_flags(steps):
        head = ["--fit_head_steps=300"] if args.recipe == "zero-step" else []
        return [f"--fit_steps={steps}", *head, f"--epochs={EPOCHS}"]

    def chosen_lr(size, steps):
        """The rates on validation (seed 1), chosen as the recipe says."""
        path = os.path.join(args.out, "val-lr.csv")

        def run_rate(rate):
            val("val-lr.csv", size, f"{label}-lr{rate}", [*fit_flags(steps), f"--lr={rate}"])

        return choose_inside(recipe["lrs"], run_rate,
                             lambda grid: best_rate(path, size, label, grid, EPOCHS))

    steps = {size: chosen_steps(size) for size in sizes}
    lr = {size: args.lr or chosen_lr(size, steps[size]) for size in sizes}
    # A changed choice makes the test runs under the old one stale.
    for size, _ in sorted(changed_choices(args.out,
                                          {(s, label): (str(steps[s]), lr[s]) for s in sizes})):
        gone = drop_rows(os.path.join(args.out, "test.csv"), lambda r: r["size"] != size)
        print(f"{size}: choice changed, {gone} stale test rows dropped", flush=True)
    with open(os.path.join(args.out, "choices.csv"), "w") as f:
        w = csv.writer(f)
        w.writerow(["size", "method", "fit_steps", "head_steps", "lr", "epochs", "chosen_on"])
        for size in sizes:
            how = f"fixed by --lr={args.lr}" if args.lr else CHOSEN_ON
            w.writerow([size, label, steps[size], 300 if args.recipe == "zero-step" else 0,
                        lr[size], EPOCHS, how])
    for seed in args.seeds.split(","):
        for size in sizes:
            run(["--csv=test.csv", "--split=test", f"--seeds={seed}", f"--sizes={size}",
                 f"--label={label}", *fit_flags(steps[size]), f"--lr={lr[size]}"])


if __name__ == "__main__":
    main()
