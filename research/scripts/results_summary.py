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
import csv
import os
import re
import sys

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
            elif line.startswith("wave minus each method"):
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


def leading_number(text):
    return int(re.match(r"\d+", text).group(0))


def bank_cost(task):
    with open("research/results/bank_cost.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["task"] == task)
    images = int(row["train_images"])
    return {"passes": images * (int(row["ancestry_epochs"]) + int(row["distill_epochs"])),
            "forward": images * int(row["distill_epochs"]),
            "seconds": float(row["wall_seconds"]), "source": row["source"]}


def verdict_cell(text):
    # "+23.90 [+19.68, +28.12] ahead" -> "+23.9 [+19.7, +28.1] ahead"
    if not text:
        return "-"
    return re.sub(r"([+-]\d+\.\d\d)", lambda m: f"{float(m.group(1)):+.1f}", text)


def task_block(task, title, what, full=True):
    """The task's paired differences and compute; `full=False`: only WAVE
    against Direct's whole schedule (the README's screen)."""
    path = f"research/results/{task}/results.md"
    if not os.path.exists(path):
        return []
    sizes = parse(path)
    against = "each method" if full else "Direct at the end of its whole schedule"
    out = [f"**{title}** (`research/results/{task}/`: {what}; every recipe chosen on a "
           f"validation split). WAVE minus {against}, paired by seed, mean "
           "[95% interval], in points of test accuracy:", "",
           "| size | method | seeds | epoch 0 | epoch 1 | epoch 5 |",
           "|---|---|---|---|---|---|"]
    for size, s in sizes.items():
        for method, diff in s["diff"].items():
            if not any(diff) or (not full and not re.search(r" at its epoch \d+$", method)):
                continue
            other = re.sub(r" at its epoch \d+$", "", method)
            n = min(int(s["seeds"].get(m, "0") or 0) for m in ("wave", other))
            out.append(f"| {size} | {method} | {n} | " +
                       " | ".join(verdict_cell(c) for c in diff) + " |")
    if not full:
        return out + [""]
    out += ["", "Compute for WAVE to first reach Direct's final mean accuracy, "
            "on the mean curve (image passes with a backward pass, fit included; "
            "ratio to Direct's; wall seconds ratio on 2 cores):", "",
            "| size | Direct's final | WAVE reaches it at epoch | passes ratio | "
            "seconds ratio | targets that repay the bank |", "|---|---|---|---|---|---|"]
    bank = bank_cost(task)
    for size, s in sizes.items():
        row = s["compute"].get("wave")
        if not row:
            continue
        if row[0].startswith("not reached"):
            out.append(f"| {size} | {s['yardstick']} | {row[0]} | - | - | - |")
            continue
        direct = s["compute"]["direct"]
        saved = leading_number(direct[1]) - leading_number(row[1])
        saved_s = float(direct[3]) - float(row[3])
        pay = (f"{bank['passes'] / saved:.1f} by passes, {bank['seconds'] / saved_s:.0f} "
               "by seconds" if saved > 0 and saved_s > 0 else "never")
        out.append(f"| {size} | {s['yardstick']} | {row[0]} | {row[2]} | {row[4]} | {pay} |")
    out += ["", f"The bank's one-time cost (`research/results/bank_cost.csv`, from {bank['source']}): "
            f"{bank['passes']:,} image passes with a backward pass (ancestry and "
            f"distillation) plus {bank['forward']:,} forward passes of the ancestry as "
            f"teacher, {bank['seconds']:,.0f} s. The last column divides it by what WAVE "
            "saves on one target of this task against Direct (the target sizes of this "
            "training-set size it takes to repay the bank); a larger training set "
            "saves more per target.", ""]
    return out


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    made = ["Made by `research/scripts/results_summary.py` from the reports of "
            "`research/scripts/report.sh` (do not edit by hand).", ""]
    full, short = list(made), list(made)
    for task, title, what in TASKS:
        full += task_block(task, title, what)
        short += task_block(task, title, what, full=False)
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
