#!/usr/bin/python3
"""A candidate bank under the evaluation protocol (issue 22): WAVE from another
bank, set against a task's comparison (docs/eval/TASK/test.csv) seed by seed.

The initialization is fixed in advance by the multi-aux validation readings
of the main task (docs/eval/multi-aux/summary.md): tiles selected across a
width, scalers from the nearest auxiliary no wider than the target, zero
scaler steps and a fresh head fitted alone for 300 steps on the body's
features (`s0-probe`). What is chosen here, on the task's validation split
with seed 1, is the training learning rate, by the mean validation accuracy
at epochs 1 and 5 (the epochs the issue's target reads after training; epoch
0 does not depend on it). The baselines keep their runs and recipes.

  scripts/eval/new_bank.py --task=main --eval=runs/eval-bin/wave-eval
  scripts/eval/new_bank.py --task=transfer --eval=runs/eval-bin/wave-eval --lr=1e-4 \
    --bank=models/transfer/multi-aux-24/fashion-mnist-0-4-vit-multiaux24.safetensors
(the transfer task takes the whole recipe from the main task's validation,
rate included: nothing is chosen on it);
then its reports (against every method of the task's comparison, and the
validation runs the rate came from) with the task's: scripts/eval/report.sh TASK
"""
import argparse
import csv
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol import SIZES, TASKS, rows  # noqa: E402

LRS = ["1e-4", "3e-4", "1e-3"]
CHOICE_EPOCHS = [1, 5]


def mean_at(path, size, label, epochs):
    acc = [float(r["accuracy"]) for r in rows(path)
           if r["size"] == size and r["method"] == label and int(r["epoch"]) in epochs]
    return sum(acc) / len(acc) if len(acc) == len(epochs) else None


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=sorted(TASKS), default="main")
    p.add_argument("--eval", default="runs/eval-bin/wave-eval")
    p.add_argument("--bank", default="models/multi-aux-24/fashion-mnist-vit-multiaux24.safetensors")
    p.add_argument("--label", default="wave-multi24")
    p.add_argument("--out", default="", help="default: docs/eval/TASK-multi24")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--sizes", default=",".join(SIZES))
    p.add_argument("--lr", default="",
                   help="the training rate, fixed (no validation runs): for a task that "
                        "takes the rate chosen on another task's validation split")
    args = p.parse_args()
    args.out = args.out or f"docs/eval/{args.task}-multi24"
    os.makedirs(args.out, exist_ok=True)
    sizes = args.sizes.split(",")
    # The task's data flags (classes, validation size, ancestry), this bank.
    task_flags = [f for f in TASKS[args.task]["flags"] if not f.startswith("--bank=")]
    common = [args.eval, *task_flags, "--train_samples=5000", "--few_shot=1000",
              "--fit_batch=64", "--batch=128", "--warmup_epochs=0.2", "--epochs=5",
              f"--threads={args.threads}", f"--out_dir={args.out}", "--resume", "--noreport",
              "--methods=wave-select", "--aux_mix=narrower", f"--bank={args.bank}",
              "--fit_steps=0", "--fit_head_steps=300"]

    def run(extra):
        cmd = common + extra
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)

    def chosen_lr(size):
        """Every rate on validation (seed 1); the best mean at CHOICE_EPOCHS."""
        for rate in LRS:
            run(["--csv=val-lr.csv", "--split=val", "--seeds=1", f"--sizes={size}",
                 f"--label={args.label}-lr{rate}", f"--lr={rate}"])
        val = os.path.join(args.out, "val-lr.csv")
        scored = [(mean_at(val, size, f"{args.label}-lr{r}", CHOICE_EPOCHS), r) for r in LRS]
        return max(s for s in scored if s[0] is not None)[1]

    lr = {size: args.lr or chosen_lr(size) for size in sizes}
    with open(os.path.join(args.out, "choices.csv"), "w") as f:
        w = csv.writer(f)
        w.writerow(["size", "method", "fit_steps", "head_steps", "lr", "epochs", "chosen_on"])
        for size in sizes:
            w.writerow([size, args.label, 0, 300, lr[size], 5,
                        f"fixed by --lr={args.lr}" if args.lr
                        else "val seed 1, mean of epochs 1 and 5"])
    for seed in args.seeds.split(","):
        for size in sizes:
            run(["--csv=test.csv", "--split=test", f"--seeds={seed}", f"--sizes={size}",
                 f"--label={args.label}", f"--lr={lr[size]}"])


if __name__ == "__main__":
    main()
