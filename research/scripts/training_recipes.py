#!/usr/bin/python3
"""The training recipes a bank carries (provenance `training_recipes`,
server/training_recipe.h), made from the protocol's committed choices: WAVE's
training rate chosen on validation at each size (research/PROTOCOL.md), with
the schedule every protocol run trains under (AdamW, weight decay 0.05, 0.2
epoch of warm-up, cosine to 1% of the peak, batch 128, the task's epochs).

For the served default bank: its own classes from research/results/main/
(the bank itself), other classes from research/results/transfer/ (a bank of
the same recipe learned on classes 0-4, targets on classes 5-9).

    research/scripts/training_recipes.py              # prints the JSON
    research/scripts/training_recipes.py --write      # into models/fashion-mnist-vit.safetensors
"""
import argparse
import csv
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol import BATCH, MIN_LR_RATIO, WARMUP_EPOCHS, WEIGHT_DECAY  # noqa: E402
from selection import CHOSEN_ON  # noqa: E402

BANK = "models/fashion-mnist-vit.safetensors"
# Kind of classes -> (the comparison its choices come from, what that split is).
SOURCES = {
    "own_classes": ("main", "validation images the bank was trained on"),
    "other_classes": ("transfer", "validation, classes the bank never saw"),
}
# The schedule every protocol run trains under (research/scripts/protocol.py).
SCHEDULE = {"optimizer": "adamw", "weightDecay": WEIGHT_DECAY, "warmupEpochs": WARMUP_EPOCHS,
            "minLrRatio": MIN_LR_RATIO, "batch": str(BATCH)}


def recipes():
    out = {}
    for kind, (task, where) in SOURCES.items():
        with open(f"research/results/{task}/choices.csv") as f:
            for r in csv.DictReader(f):
                if r["method"] != "wave" or r["chosen_on"] != CHOSEN_ON:
                    continue
                out.setdefault(kind, {})[r["size"]] = {
                    **SCHEDULE, "peakLr": float(r["lr"]), "epochs": r["epochs"],
                    "chosenOn": f"{where}, {r['size']} (research/results/{task}/choices.csv)"}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--write", action="store_true", help=f"write them into {BANK}")
    args = p.parse_args()
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    text = json.dumps(recipes(), sort_keys=True)
    if not args.write:
        print(text)
        return
    subprocess.run([sys.executable, "scripts/bank_fit_defaults.py", "--training-recipes", BANK,
                    text], check=True)


if __name__ == "__main__":
    main()
