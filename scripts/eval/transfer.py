#!/usr/bin/python3
"""The transfer evaluation of issue 17, end to end and resumable.

Targets learn Fashion-MNIST classes 5-9 (relabelled 0-4) from a bank learned on
classes 0-4. Every recipe choice is made on a validation split carved from the
training images (seed 1); the final figures are on all 5,000 test images of the
five classes, over several seeds. Each step appends to a CSV with --resume, so a
rerun continues where the last one stopped; choices are written to choices.csv.

  scripts/eval/transfer.py --eval=runs/eval-bin/wave-eval --out=docs/eval/transfer
"""
import argparse
import csv
import os
import subprocess
import sys

SIZES = ["3x64", "4x96", "12x128", "9x192"]
FIT_STEPS = [0, 25, 50, 100, 200, 400]
LRS = ["3e-4", "1e-3", "3e-3"]
EPOCHS = {"direct": 10}  # every other method: 5 (the issue asks for Direct's 10 in transfer)
BASELINES = ["weight-selection", "heur-lg", "mimetic"]
# Baselines without a learning-rate search of their own take the rate chosen
# for the method they resemble: inherited weights like WAVE's, or random like Direct's.
LR_FROM = {"weight-selection": "wave", "heur-lg": "wave", "mimetic": "direct"}


def common(args):
    return [
        args.eval,
        "--bank=models/transfer/fashion-mnist-0-4-vit.safetensors",
        "--ancestry=models/transfer/fashion-mnist-0-4-vit.ancestry.safetensors",
        "--classes=5,6,7,8,9", "--val_samples=2500", "--train_samples=5000",
        "--few_shot=1000", "--fit_batch=64", "--batch=128", "--warmup_epochs=0.2",
        f"--threads={args.threads}", f"--out_dir={args.out}", "--resume",
    ]


def run(args, extra):
    cmd = common(args) + extra
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def best(path, size, labels, epoch):
    """The label with the highest accuracy at `epoch` (ties: the first listed)."""
    acc = {}
    for r in rows(path):
        if r["size"] == size and int(r["epoch"]) == epoch and r["accuracy"] != "n/a":
            acc[r["method"]] = float(r["accuracy"])
    scored = [(acc[l], -i, l) for i, l in enumerate(labels) if l in acc]
    if not scored:
        sys.exit(f"no validation rows for {size} {labels} at epoch {epoch} in {path}")
    return max(scored)[2]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--eval", default="runs/eval-bin/wave-eval")
    p.add_argument("--out", default="docs/eval/transfer")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--sizes", default=",".join(SIZES))
    args = p.parse_args()
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
                       f"--fit_steps={s}", "--epochs=1", "--lr=1e-3"])
        steps[size] = int(best(val_steps, size, [f"wave-s{s}" for s in FIT_STEPS], 1)[6:])

    # 2. The learning rate of training for Direct and WAVE, by validation
    #    accuracy at their last epoch (Direct first: its search is required).
    lr = {}
    for size in sizes:
        for method in ["direct", "wave"]:
            epochs = EPOCHS.get(method, 5)
            for rate in LRS:
                run(args, [f"--csv={os.path.basename(val_lr)}", "--split=val", "--seeds=1",
                           f"--sizes={size}", f"--methods={method}",
                           f"--label={method}-lr{rate}", f"--fit_steps={steps[size]}",
                           f"--epochs={epochs}", f"--lr={rate}"])
            chosen = best(val_lr, size, [f"{method}-lr{r}" for r in LRS], epochs)
            lr[(size, method)] = chosen.split("-lr")[1]
        for b in BASELINES:
            lr[(size, b)] = lr[(size, LR_FROM[b])]
    with open(os.path.join(args.out, "choices.csv"), "w") as f:
        w = csv.writer(f)
        w.writerow(["size", "method", "fit_steps", "lr", "epochs", "chosen_on"])
        for size in sizes:
            for method in ["wave", "direct"] + BASELINES:
                w.writerow([size, method, steps[size], lr[(size, method)],
                            EPOCHS.get(method, 5),
                            "val seed 1" if method in ("wave", "direct")
                            else f"val seed 1 (the rate chosen for {LR_FROM[method]})"])

    # 3. The final figures on the test images, seed by seed so that a partial
    #    run still pairs: WAVE and Direct first, then the other baselines.
    for methods in (["wave", "direct"], BASELINES):
        for seed in args.seeds.split(","):
            for size in sizes:
                for method in methods:
                    run(args, ["--csv=test.csv", "--split=test", f"--seeds={seed}",
                               f"--sizes={size}", f"--methods={method}",
                               f"--fit_steps={steps[size]}",
                               f"--epochs={EPOCHS.get(method, 5)}",
                               f"--lr={lr[(size, method)]}"])

if __name__ == "__main__":
    main()
