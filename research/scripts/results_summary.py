#!/usr/bin/python3
"""The README's Results block, from the protocol's reports only.

Reads research/results/{transfer,main}/results.md (written by `wave-eval --report_only`
through research/scripts/report.sh from the committed test.csv) and writes, per task
and size, WAVE's paired difference to each method at epochs 0, 1 and 5 with the
95% interval and its verdict, and the compute WAVE needs to reach Direct's final
accuracy. The block goes to research/results/summary.md and replaces the text between
the README's `<!-- results:begin -->` and `<!-- results:end -->` markers, so no
number in it is typed by hand.

  research/scripts/results_summary.py [--check]   # --check: fail if the README is stale
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compute_report  # noqa: E402
from protocol import SCHEDULE  # noqa: E402

TASKS = [("transfer", "Transfer to classes the bank never saw",
          "bank learned on Fashion-MNIST classes 0-4; targets learn classes 5-9 from "
          "labels only, fresh head; all 5,000 test images of those classes"),
         ("main", "The bank's own task",
          "all ten classes, the bundled bank; all 10,000 test images")]
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse(path):
    """{size: {"seeds": {method: n}, "diff": {method: [e0, e1, e5]},
    "compute": {method: row}, "yardstick": text}} from one results.md."""
    sizes, size, table = {}, None, None
    with open(path) as f:
        for line in f:
            if line.startswith("### "):
                size = line[4:].strip()
                sizes[size] = {"seeds": {}, "diff": {}, "compute": {}, "yardstick": ""}
                table = "accuracy"
            elif size is None:
                continue
            elif re.match(r"\S+ minus each method", line):
                table = "diff"
            elif line.startswith("Compute to first reach"):
                table = "compute"
                m = re.search(r"final mean accuracy \(([^)]*)\)", line)
                sizes[size]["yardstick"] = m.group(1) if m else ""
            elif line.startswith("| ") and not line.startswith("| method"):
                row = cells(line)
                if table == "accuracy":
                    sizes[size]["seeds"][row[0]] = row[-1]
                else:
                    sizes[size][table][row[0]] = row[1:]
    return sizes


def verdict_cell(text):
    # "+23.90 [+19.68, +28.12] ahead" -> "+23.9 [+19.7, +28.1] ahead"
    if not text:
        return "-"
    return re.sub(r"([+-]\d+\.\d\d)", lambda m: f"{float(m.group(1)):+.1f}", text)


EPOCHS = [0, 1, 5]


def whole_schedule_cells(method, diff):
    """The cells that compare with the end of a whole schedule: every cell of
    "direct at its epoch N"; of "direct-eE" (a whole E-epoch run), epoch E's
    only. None when the row compares with no schedule's end."""
    if re.search(r" at its epoch \d+$", method):
        return diff
    m = SCHEDULE.fullmatch(method)
    if m and m.group("base") == "direct":
        return [c if e == int(m.group("epochs")) else "" for e, c in zip(EPOCHS, diff)]
    return None


def task_block(task, title, what, full=True, reference="wave", folder=""):
    """The task's paired differences of `reference` (from the report in
    research/results/TASK/FOLDER) and, for WAVE's, the compute; `full=False`:
    only the comparisons with the end of Direct's whole schedules (the README's
    screen)."""
    path = f"research/results/{task}/{folder}results.md"
    if not os.path.exists(path):
        return []
    sizes = parse(path)
    against = "each method" if full else "Direct at the end of its whole schedule"
    who = ("WAVE" if reference == "wave" else
           f"The server's fit exactly as served (`{reference}`: a request that sets no fit "
           "option, so the bank's head where the class count matches; then trained at "
           "WAVE's chosen rate)")
    out = [f"**{title}** (`research/results/{task}/{folder}`: {what}; every recipe chosen on "
           f"a validation split). {who} minus {against}, paired by seed, mean "
           "[95% interval], in points of test accuracy:", "",
           "| size | method | seeds | epoch 0 | epoch 1 | epoch 5 |",
           "|---|---|---|---|---|---|"]
    for size, s in sizes.items():
        for method, diff in s["diff"].items():
            cells = diff if full else whole_schedule_cells(method, diff)
            if not cells or not any(cells):
                continue
            other = re.sub(r" at its epoch \d+$", "", method)
            n = min(int(s["seeds"].get(m, "0") or 0) for m in (reference, other))
            out.append(f"| {size} | {method} | {n} | " +
                       " | ".join(verdict_cell(c) for c in cells) + " |")
    if not full:
        return out + [""]
    out += ["", "Compute for WAVE to first reach Direct's final mean accuracy, on the mean "
            "curve (FLOPs by `research/scripts/flops.py`, fit included, and wall seconds on "
            "2 cores, each as a ratio to Direct's whole schedule; every method and both "
            f"banks in `research/results/{task}/compute.md`):", "",
            "| size | Direct's final | WAVE reaches it at epoch | FLOPs ratio | "
            "seconds ratio | targets that repay the served bank |", "|---|---|---|---|---|---|"]
    for size, (target, final_epoch, hit) in compute_report.wave_rows(task).items():
        yardstick = f"{target:.2f}%, epoch {final_epoch}"
        if hit is None:
            out.append(f"| {size} | {yardstick} | not reached | - | - | - |")
            continue
        epoch, flops_ratio, secs_ratio, (by_flops, by_secs) = hit
        out.append(f"| {size} | {yardstick} | {epoch} | {flops_ratio:.3f} | {secs_ratio:.3f} | "
                   f"{by_flops} by FLOPs, {by_secs} by seconds |")
    name, row, cost = next(b for b in compute_report.banks_for(task)
                           if b[0] == compute_report.SERVED_BANK)
    out += ["", f"The served bank's one-time cost (`research/results/bank_cost.csv`, from "
            f"{row['source']}): {cost / 1e15:.3f} PFLOPs, {float(row['wall_seconds']):,.0f} s. "
            "The last column divides it by what WAVE saves on one target of this task against "
            "Direct; a larger training set saves more per target.", ""]
    return out


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    made = ["Made by `research/scripts/results_summary.py` from the reports of "
            "`research/scripts/report.sh` (do not edit by hand).", ""]
    full, short = list(made), list(made)
    for task, title, what in TASKS:
        # The defaults as served lead, where they were run.
        served = task_block(task, title, what.replace(", fresh head", ""), full=False,
                            reference="wave-default", folder="served/")
        full += served + task_block(task, title, what)
        short += served + task_block(task, title, what, full=False)
    short += ["Every baseline, the compute each method needs and what the banks cost: "
              "`research/results/summary.md`.", ""]
    readme = open("README.md").read()
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    wanted = {"README.md": readme[:start] + "\n" + "\n".join(short) + readme[end:],
              "research/results/summary.md":
                  "# Results of the validation protocol\n\n" + "\n".join(full)}
    for path, content in wanted.items():
        current = open(path).read() if os.path.exists(path) else ""
        if "--check" in sys.argv:
            if current != content:
                sys.exit(f"{path} is stale: run research/scripts/results_summary.py")
        elif current != content:
            with open(path, "w") as f:
                f.write(content)


if __name__ == "__main__":
    main()
