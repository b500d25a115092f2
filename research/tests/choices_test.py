"""Every committed choice (research/results/*/choices.csv) is what the one rule
of research/scripts/selection.py makes from the committed validation rows
(research/PROTOCOL.md): a choice made by another rule, on another split, from a
grid that had not finished growing, or edited by hand fails here. The rule
itself is checked on small tables first, so that a broken rule cannot pass by
agreeing with itself."""
import csv
import glob
import os
import sys

import pytest

SOURCE = os.environ.get("WAVE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "research", "scripts"))
import selection  # noqa: E402
from protocol import LR_FROM  # noqa: E402

RESULTS = os.path.join(SOURCE, "research", "results")
CHOICE_FILES = sorted(glob.glob(os.path.join(RESULTS, "*", "choices.csv")))


def write_rows(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["seed", "split", "size", "method", "epoch", "accuracy"])
        w.writeheader()
        w.writerows(rows)
    return str(path)


def row(method, epoch, accuracy, split="val", seed="1", size="3x64"):
    return {"seed": seed, "split": split, "size": size, "method": method, "epoch": epoch,
            "accuracy": accuracy}


def test_the_rule_reads_the_last_epoch_and_breaks_ties_by_order(tmp_path):
    path = write_rows(tmp_path / "val.csv", [
        row("a-lr1e-4", 1, 90), row("a-lr1e-4", 5, 80),   # best early, worse at the end
        row("a-lr3e-4", 1, 70), row("a-lr3e-4", 5, 85),
        row("a-lr1e-3", 1, 60), row("a-lr1e-3", 5, 85),   # ties with 3e-4: listed later
        row("a-lr3e-3", 5, 99, seed="2"),                 # another seed: not a choice
    ])
    assert selection.best_rate(path, "3x64", "a", ["1e-4", "3e-4", "1e-3", "3e-3"], 5) == "3e-4"
    assert selection.best_rate(path, "3x64", "a", ["1e-4", "3e-4", "1e-3"], 1) == "1e-4"
    assert selection.rates_run(path, "3x64", "a") == ["1e-4", "3e-4", "1e-3", "3e-3"]


def test_the_rule_refuses_test_rows(tmp_path):
    path = write_rows(tmp_path / "val.csv", [row("a-lr1e-4", 5, 80),
                                             row("a-lr3e-4", 5, 90, split="test")])
    with pytest.raises(SystemExit, match="validation images only"):
        selection.best_rate(path, "3x64", "a", ["1e-4", "3e-4"], 5)


def test_a_choice_on_an_edge_grows_the_grid_until_the_ladder_ends():
    assert selection.grown(["3e-4", "1e-3", "3e-3"], "3e-4") == ["1e-4", "3e-4", "1e-3", "3e-3"]
    assert selection.grown(["3e-4", "1e-3", "3e-3"], "3e-3") == ["3e-4", "1e-3", "3e-3", "1e-2"]
    assert selection.grown(["3e-4", "1e-3", "3e-3"], "1e-3") is None
    assert selection.grown(["1e-5", "3e-5"], "1e-5") is None  # the ladder's end


def choices(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def fit_steps_label(val_steps, method):
    """The label prefix the fit steps were chosen by: the method's own sweep
    where it has one, else WAVE's (the protocol gives every method WAVE's)."""
    labels = {r["method"] for r in selection.rows(val_steps)}
    return method if f"{method}-s0" in labels else "wave"


@pytest.mark.parametrize("path", CHOICE_FILES, ids=lambda p: os.path.basename(os.path.dirname(p)))
def test_every_committed_choice_is_what_the_rule_makes(path):
    folder = os.path.dirname(path)
    val_steps = os.path.join(folder, "val-fit-steps.csv")
    val_lr = os.path.join(folder, "val-lr.csv")
    table = choices(path)
    lr_of = {(r["size"], r["method"]): r["lr"] for r in table}
    for r in table:
        size, method, how = r["size"], r["method"], r["chosen_on"]
        where = f"{os.path.relpath(path, SOURCE)}: {size} {method}"
        if how == selection.CHOSEN_ON:
            if os.path.exists(val_steps):
                prefix = fit_steps_label(val_steps, method)
                labels = [f"{prefix}-s{s}" for s in selection.FIT_STEPS]
                chosen = selection.best(val_steps, size, labels, 1).rsplit("-s", 1)[1]
                assert r["fit_steps"] == chosen, f"{where}: fit steps {r['fit_steps']}, rule {chosen}"
            grid = selection.rates_run(val_lr, size, method)
            assert grid, f"{where}: no validation runs of any rate in {val_lr}"
            chosen = selection.best_rate(val_lr, size, method, grid, int(r["epochs"]))
            assert r["lr"] == chosen, f"{where}: rate {r['lr']}, the rule chooses {chosen}"
            assert selection.grown(grid, chosen) is None, (
                f"{where}: {chosen} is on an edge of {grid}; the grid must grow first")
        elif how.startswith("the rate chosen for "):
            source = how[len("the rate chosen for "):]
            assert r["lr"] == lr_of[(size, source)], f"{where}: not {source}'s rate"
        elif how == "n/a at this size":
            assert any(v["size"] == size and v["method"].startswith(f"{method}-lr")
                       and v["accuracy"] == "n/a" for v in selection.rows(val_lr)), (
                f"{where}: said n/a, but no n/a validation run")
            assert r["lr"] == lr_of[(size, LR_FROM[method])], f"{where}: not {LR_FROM[method]}'s rate"
        else:
            pytest.fail(f"{where}: chosen {how!r}, not by the protocol's rule")


def test_every_comparison_folder_has_its_choices():
    assert {os.path.basename(os.path.dirname(p)) for p in CHOICE_FILES} >= {
        "main", "transfer", "main-multi24", "transfer-multi24"}


def test_the_served_banks_training_recipes_are_its_committed_choices():
    """The recipes the default bank returns with the weights are what
    research/scripts/training_recipes.py makes from the choices above."""
    import json
    sys.path.insert(0, os.path.join(SOURCE, "scripts"))
    import bank_fit_defaults
    import training_recipes
    old = os.getcwd()
    os.chdir(SOURCE)
    try:
        wanted = training_recipes.recipes()
        with open(training_recipes.BANK, "rb") as f:
            header, _ = bank_fit_defaults.split(f.read())
    finally:
        os.chdir(old)
    provenance = json.loads(header["__metadata__"]["provenance"])
    assert json.loads(provenance["training_recipes"]) == wanted, (
        "run research/scripts/training_recipes.py --write")
    assert set(wanted) == {"own_classes", "other_classes"}
