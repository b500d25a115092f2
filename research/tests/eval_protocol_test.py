"""research/scripts/protocol.py's choices, against a stand-in for wave-eval whose
validation accuracy peaks at a known learning rate per method: the rate grid
grows past an edge until the choice is inside it, a method that cannot build a
size takes the rate of the one it resembles, and a changed choice has its
stale test runs redone."""
import csv
import math
import os
import subprocess
import sys
import textwrap

import pytest

SOURCE = os.environ.get("WAVE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "research", "scripts"))
import protocol  # noqa: E402

# wave-eval's CSV columns, flags and --resume, as far as the protocol uses them. The
# accuracy falls 10 points per decade away from the method's best rate; Weight
# Selection cannot build 12x128 (n/a, as wave-eval writes it).
FAKE_EVAL = textwrap.dedent("""\
    import math, os, sys
    PEAK = {"wave": 1e-5, "direct": 1e-3, "heur-lg": 1e-4, "mimetic": 3e-3,
            "weight-selection": 3e-3, "wave-default": 1e-5}
    flags = dict(a[2:].split("=", 1) for a in sys.argv[1:] if "=" in a)
    path = os.path.join(flags["out_dir"], flags["csv"])
    method, size, seed = flags["methods"], flags["sizes"], flags["seeds"]
    label, epochs = flags.get("label", method), int(flags["epochs"])
    new = not os.path.exists(path)
    if not new and "--resume" in sys.argv:  # a run the CSV holds to its end is skipped
        for line in open(path).read().splitlines()[1:]:
            r = line.split(",")
            if r[0] == seed and r[2] == size and r[3] == label and (
                    r[4] == str(epochs) or r[5] == "n/a"):
                sys.exit(0)
    with open(os.environ["FAKE_EVAL_LOG"], "a") as log:  # the runs made
        log.write(" ".join(sys.argv[1:]) + "\\n")
    with open(path, "a") as f:
        if new:
            f.write("seed,split,size,method,epoch,accuracy,passes,forward_passes,seconds\\n")
        if method == "weight-selection" and size == "12x128":
            f.write(f"{seed},{flags['split']},{size},{label},0,n/a,n/a,n/a,0.00\\n")
            sys.exit(0)
        acc = 90 - 10 * abs(math.log10(float(flags["lr"])) - math.log10(PEAK[method]))
        for epoch in range(epochs + 1):
            f.write(f"{seed},{flags['split']},{size},{label},{epoch},{acc:.2f},0,0,1.0\\n")
""")


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def choices(out):
    return {(r["size"], r["method"]): (r["lr"], r["chosen_on"])
            for r in rows(os.path.join(out, "choices.csv"))}


@pytest.fixture
def run_protocol(tmp_path):
    fake = tmp_path / "fake_eval.py"
    fake.write_text(FAKE_EVAL)
    wrapper = tmp_path / "wave-eval"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {fake} \"$@\"\n")
    wrapper.chmod(0o755)
    out, log = tmp_path / "out", tmp_path / "calls.log"

    def run(task="main", extras=False, flags=()):
        log.write_text("")
        subprocess.run([sys.executable, os.path.join(SOURCE, "research/scripts/protocol.py"),
                        f"--task={task}", f"--eval={wrapper}", f"--out={out}", "--seeds=1",
                        "--sizes=3x64,12x128", *flags] + ([] if extras else ["--no_extras"]),
                       check=True, capture_output=True,
                       env={**os.environ, "FAKE_EVAL_LOG": str(log)})
        return str(out), log.read_text().splitlines()
    return run


def test_the_grid_grows_past_an_edge_until_the_choice_is_inside():
    accuracy = {"1e-4": 5, "3e-4": 4, "1e-3": 1, "3e-3": 0, "3e-5": 3}
    ran = []
    chosen = protocol.choose_inside(["3e-4", "1e-3", "3e-3"], ran.append,
                                    lambda grid: max(grid, key=lambda r: accuracy.get(r, -1)))
    assert chosen == "1e-4"
    assert "3e-5" in ran and "1e-5" not in ran  # one rung past 1e-4, no further
    # The ladder's ends bound the growth.
    assert protocol.choose_inside(["3e-4", "1e-3"], lambda r: None, lambda g: g[0]) == "1e-5"
    assert protocol.choose_inside(["3e-4", "1e-3"], lambda r: None, lambda g: g[-1]) == "1e-2"


def test_every_method_gets_its_own_rate_and_n_a_takes_the_one_it_resembles(run_protocol):
    out, _ = run_protocol()
    got = choices(out)
    for size in ["3x64", "12x128"]:
        assert got[(size, "wave")] == ("1e-5", protocol.CHOSEN_ON)  # four rungs below the grid
        assert got[(size, "direct")] == ("1e-3", protocol.CHOSEN_ON)
        assert got[(size, "heur-lg")] == ("1e-4", protocol.CHOSEN_ON)
        assert got[(size, "mimetic")] == ("3e-3", protocol.CHOSEN_ON)
        assert got[(size, "wave-select")][0] == "1e-5"  # a variant takes WAVE's
    assert got[("3x64", "weight-selection")] == ("3e-3", protocol.CHOSEN_ON)
    assert got[("12x128", "weight-selection")] == ("1e-5", "n/a at this size")
    # Direct's whole shorter schedules search rates of their own.
    for size in ["3x64", "12x128"]:
        for schedule in ["direct-e1", "direct-e5"]:
            assert got[(size, schedule)][1] == protocol.CHOSEN_ON
    test = rows(os.path.join(out, "test.csv"))
    assert {(r["size"], r["method"]) for r in test} == {
        (s, m) for s in ["3x64", "12x128"]
        for m in ["wave", "direct", "weight-selection", "heur-lg", "mimetic",
                  "direct-e1", "direct-e5"]}
    # A whole schedule ends at its own length.
    assert {(r["method"], max(int(x["epoch"]) for x in test if x["method"] == r["method"]))
            for r in test if r["method"].startswith("direct-e")} == {
        ("direct-e1", 1), ("direct-e5", 5)}


def test_a_changed_choice_has_its_test_runs_redone(run_protocol):
    out, _ = run_protocol()
    assert choices(out)[("3x64", "direct")][0] == "1e-3"
    # Validation now favours 3e-3 for Direct at 3x64: its choice changes.
    val = os.path.join(out, "val-lr.csv")
    changed = rows(val)
    for r in changed:
        if (r["size"], r["method"]) == ("3x64", "direct-lr3e-3"):
            r["accuracy"] = "99.00"
    with open(val, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(changed[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(changed)
    out, calls = run_protocol()
    assert choices(out)[("3x64", "direct")][0] == "3e-3"
    # Only the changed choice's test run is redone, at its new rate; the
    # others are kept.
    tests = [c.split(" --csv=")[1] for c in calls if "--split=test" in c]
    assert tests == ["test.csv --split=test --seeds=1 --sizes=3x64 --methods=direct "
                     "--fit_steps=0 --epochs=20 --lr=3e-3"]
    test = rows(os.path.join(out, "test.csv"))
    direct_3x64 = [r for r in test if (r["size"], r["method"]) == ("3x64", "direct")]
    assert len(direct_3x64) == 21  # ...once: epochs 0-20, the old rows gone
    assert math.isclose(float(direct_3x64[0]["accuracy"]), 90 - 10 * math.log10(3), abs_tol=0.01)


def test_direct_at_each_length_is_a_whole_schedule_with_its_own_rate(run_protocol):
    out, calls = run_protocol("transfer")
    table = {(r["size"], r["method"]): r for r in rows(os.path.join(out, "choices.csv"))}
    schedules = protocol.TASKS["transfer"]["schedules"]
    assert "direct-e1" in schedules
    for size in ["3x64", "12x128"]:
        for method in schedules:
            choice = table[(size, method)]
            assert (choice["lr"], choice["epochs"]) == ("1e-3", method.rsplit("-e", 1)[1])
            assert choice["chosen_on"] == protocol.CHOSEN_ON
    # Its own validation runs, at its own length, labelled apart from Direct's.
    assert any("--methods=direct --label=direct-e1-lr3e-4 " in c and "--epochs=1 " in c
               for c in calls)
    test = rows(os.path.join(out, "test.csv"))
    e1 = [r for r in test if (r["size"], r["method"]) == ("3x64", "direct-e1")]
    assert [r["epoch"] for r in e1] == ["0", "1"]


def test_a_recipe_variant_is_wave_with_its_own_fit_flags_last(run_protocol):
    out, calls = run_protocol("transfer", extras=True)
    name, (base, flags) = "wave-b4-p2.5", protocol.RECIPES["wave-b4-p2.5"]
    runs = [c for c in calls if f"--label={name} " in c]
    assert len(runs) == 2  # seed 1 at both sizes, on the test images
    for c in runs:
        assert f"--methods={base} " in c and "--split=test" in c
        assert c.endswith(" ".join(flags))  # after the protocol's own --fit_steps
    got = choices(out)
    for size in ["3x64", "12x128"]:
        assert got[(size, name)] == (got[(size, "wave")][0], "the rate chosen for wave")


def test_only_limits_the_test_runs_to_the_methods_named(run_protocol):
    out, calls = run_protocol("transfer", extras=True, flags=["--only=direct,wave-b4-p2.5"])
    tested = {c.split("--methods=")[1].split()[0] + (" " + c.split("--label=")[1].split()[0]
                                                     if "--label=" in c else "")
              for c in calls if "--split=test" in c}
    assert tested == {"direct", "wave wave-b4-p2.5"}
    # The choices are made as always, for every method.
    assert ("3x64", "mimetic") in choices(out)
