"""The evaluation's one selection rule (research/PROTOCOL.md). Every choice of
every method and every bank (fit steps, learning rates, recipes) is made by
these functions, from validation rows only; research/tests/choices_test.py
recomputes every committed choice with them.

The rule: among the candidates of a grid, run on the validation split with the
same seed, the one with the highest validation accuracy at the last epoch of
the schedule they were run with; ties go to the candidate listed first (every
grid lists the cheaper or lower value first). A choice at an edge of the
learning-rate grid grows the grid one rung of LADDER past that edge, until the
choice is inside it or the ladder ends.
"""
import csv
import os
import sys

# Fit-step budgets, fewest first: chosen by WAVE's validation accuracy after a
# one-epoch schedule at 1e-3 (its last epoch).
FIT_STEPS = [0, 25, 50, 100, 200, 400]
FIT_STEPS_LR = "1e-3"
# The learning-rate grid every search starts from, and the ladder it grows on.
LRS = ["3e-4", "1e-3", "3e-3"]
LADDER = ["1e-5", "3e-5", "1e-4", "3e-4", "1e-3", "3e-3", "1e-2"]
VALIDATION_SEED = "1"
# What choices.csv says of a choice made by this rule.
CHOSEN_ON = "val seed 1, last epoch"


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def highest(scores, candidates):
    """The candidate with the highest score (scores: {candidate: accuracy});
    ties go to the one listed first. None when no candidate has a score."""
    scored = [(scores[c], -i, c) for i, c in enumerate(candidates) if c in scores]
    return max(scored)[2] if scored else None


def validation_scores(path, size, epoch):
    """{label: accuracy} of the validation rows of `size` at `epoch`, seed 1.
    A row of any other split is an error: no choice may see test images."""
    scores = {}
    for r in rows(path):
        if r["size"] != size or int(r["epoch"]) != epoch or r["seed"] != VALIDATION_SEED:
            continue
        if r.get("split", "val") != "val":
            sys.exit(f"{path}: a {r['split']} row among the validation rows; "
                     "choices are made on validation images only")
        if r["accuracy"] != "n/a":
            scores[r["method"]] = float(r["accuracy"])
    return scores


def best(path, size, labels, epoch):
    """The label of `labels` the rule chooses at `epoch` (the schedule's last)."""
    chosen = highest(validation_scores(path, size, epoch), labels)
    if chosen is None:
        sys.exit(f"no validation rows for {size} {labels} at epoch {epoch} in {path}")
    return chosen


def best_rate(path, size, label, rates, epoch):
    """The rate of `rates` whose run `{label}-lr{rate}` the rule chooses."""
    return best(path, size, [f"{label}-lr{r}" for r in rates], epoch).rsplit("-lr", 1)[1]


def rates_run(path, size, label):
    """Every rate of LADDER with a validation run `{label}-lr{rate}` at `size`,
    in LADDER order: the grid as far as it grew."""
    labels = {r["method"] for r in rows(path) if r["size"] == size}
    return [r for r in LADDER if f"{label}-lr{r}" in labels]


def grown(grid, chosen):
    """The grid with one more LADDER rung past the edge `chosen` sits on, or
    None when `chosen` is inside the grid or the ladder ends there."""
    rung = LADDER.index(chosen)
    if chosen == grid[0] and rung > 0:
        return [LADDER[rung - 1]] + list(grid)
    if chosen == grid[-1] and rung + 1 < len(LADDER):
        return list(grid) + [LADDER[rung + 1]]
    return None


def choose_inside(grid, run_rate, choose):
    """Runs every rate of `grid` (run_rate) and picks one (choose(grid)); while
    the pick is at an edge with a LADDER rung beyond it, runs that rung too."""
    grid = list(grid)
    while True:
        for rate in grid:
            run_rate(rate)
        chosen = choose(grid)
        bigger = grown(grid, chosen)
        if bigger is None:
            return chosen
        grid = bigger
