"""research/scripts/bank_spread_report.py on a CSV of known figures: the spread
between the recipe's banks, and another bank set against their interval."""
import csv
import os
import sys

SOURCE = os.environ.get("WAVE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "research", "scripts"))
import bank_spread_report  # noqa: E402

FIELDS = ["seed", "split", "size", "method", "epoch", "accuracy", "passes", "forward_passes",
          "seconds"]


def write(path, accuracies):
    """accuracies: {(bank, seed): accuracy} at 3x64, epoch 0."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        for (bank, seed), acc in accuracies.items():
            w.writerow({"seed": seed, "split": "test", "size": "3x64", "method": bank,
                        "epoch": 0, "accuracy": f"{acc:.2f}", "passes": 0,
                        "forward_passes": 0, "seconds": 0})


def table_row(text, start):
    rows = [line for line in text.splitlines() if line.startswith(start)]
    assert len(rows) == 1, rows
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


def recipe(other=None):
    # Bank means 40, 42, 44 over seeds 1-2: sd between banks 2, interval
    # 42 +- 4.303 * 2 / sqrt(3) = 42 +- 4.97.
    acc = {("bank-seed1", 1): 39, ("bank-seed1", 2): 41, ("bank-seed2", 1): 41,
           ("bank-seed2", 2): 43, ("bank-seed3", 1): 43, ("bank-seed3", 2): 45}
    if other is not None:
        acc.update({("bf16-seed1", 1): other, ("bf16-seed1", 2): other})
    return acc


def test_the_spread_is_over_the_recipes_banks_alone(tmp_path):
    path = tmp_path / "test.csv"
    write(path, recipe(other=10))
    text = bank_spread_report.report("t", path)
    row = table_row(text, "| 3x64 | 0 | 1,2 | 40.00")
    assert row[3:] == ["40.00", "42.00", "44.00", "2.00", "4.00", "1.41",
                       "42.00 [37.03, 46.97]"]


def test_another_bank_is_placed_against_the_recipes_interval(tmp_path):
    # Minus seed 1's bank (39, 41), paired by target seed: differences value-39
    # and value-41, mean value-40, half width 12.706 * sqrt(2) / sqrt(2).
    for value, where, same in [
            (30, "below", "-10.00 [-22.71, +2.71] not distinguishable"),
            (44, "inside", "+4.00 [-8.71, +16.71] not distinguishable"),
            (60, "above", "+20.00 [+7.29, +32.71] ahead")]:
        path = tmp_path / f"{value}.csv"
        write(path, recipe(other=value))
        row = table_row(bank_spread_report.report("t", path), "| 3x64 | 0 | 1,2 | bf16-seed1")
        assert row[4:] == [f"{value:.2f}", "42.00 [37.03, 46.97]", where, same]


def test_without_other_banks_there_is_no_second_table(tmp_path):
    path = tmp_path / "test.csv"
    write(path, recipe())
    assert "Other banks" not in bank_spread_report.report("t", path)
