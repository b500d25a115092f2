#!/usr/bin/python3
"""The figures of docs/own-data.md, from committed CSVs only:
  research/results/glyphs/banks.csv     each glyph bank's ancestry and auxiliary test
                                 accuracy (written from the banks' provenance
                                 with --from_banks)
  research/results/glyphs/results.csv   WAVE and Direct on the glyphs' test images
  research/results/glyphs/torchvision.csv  WAVE from the bank learned from a torchvision ViT
                                 (wave-eval; the commands are in docs/own-data.md)
The paired report (research/results/glyphs/results.md) is made by wave-eval
--report_only; its per-size sections and banks.csv's rows replace the block
between the markers in docs/own-data.md.

  /usr/bin/python3 research/scripts/own_data_report.py [--from_banks] [--eval=build/research/eval/wave-eval]
"""
import argparse
import csv
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

DIR = "research/results/glyphs"
DOC = "docs/own-data.md"
BEGIN, END = "<!-- figures: made by research/scripts/own_data_report.py -->", "<!-- figures end -->"


def write_banks_csv():
    sys.path.insert(0, os.path.join(ROOT, "client", "python"))
    from wave_init import safetensors
    rows = []
    for path in sorted(glob.glob("models/glyphs/*.safetensors")):
        if path.endswith(".ancestry.safetensors"):
            continue
        with open(path, "rb") as f:
            _, metadata = safetensors.parse(f.read(), as_torch=False)
        provenance = json.loads(metadata.get("provenance", "{}"))
        for key, value in sorted(provenance.items()):
            if key.startswith("auxiliary_") and key.endswith("_test_accuracy"):
                rows.append([os.path.basename(path), provenance.get("ancestry", ""),
                             provenance.get("ancestry_test_accuracy", ""),
                             key[len("auxiliary_"):-len("_test_accuracy")], value,
                             provenance.get("seconds_total", "")])
    with open(f"{DIR}/banks.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["bank", "ancestry", "ancestry_test_accuracy", "auxiliary",
                    "auxiliary_test_accuracy", "seconds_total"])
        w.writerows(rows)


def block(results_md):
    lines = ["Each glyph bank, measured on the test images (fonts no training image used):", "",
             "| bank | ancestry | ancestry accuracy | auxiliary | auxiliary accuracy | seconds |",
             "|---|---|---|---|---|---|"]
    with open(f"{DIR}/banks.csv") as f:
        for r in csv.DictReader(f):
            lines.append(f"| `{r['bank']}` | {r['ancestry']} | "
                         f"{float(r['ancestry_test_accuracy']):.2f}% | {r['auxiliary']} | "
                         f"{float(r['auxiliary_test_accuracy']):.2f}% | {r['seconds_total']} |")
    lines += ["", "WAVE and Direct on the same test images (`research/results/glyphs/results.md`):", ""]
    with open(results_md) as f:
        text = f.read()
    sections = text[text.index("### "):].replace("### ", "#### ")
    return "\n".join(lines) + "\n" + sections.rstrip() + "\n"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--from_banks", action="store_true", help="rewrite banks.csv from the banks")
    p.add_argument("--eval", default="build/research/eval/wave-eval")
    args = p.parse_args()
    args.eval = os.path.abspath(args.eval)
    os.chdir(ROOT)
    if args.from_banks:
        write_banks_csv()
    inputs = ",".join(f"{DIR}/{name}" for name in ("results.csv", "torchvision.csv")
                      if os.path.exists(f"{DIR}/{name}"))
    subprocess.run([args.eval, "--report_only", f"--inputs={inputs}", f"--out_dir={DIR}",
                    "--reference=wave", "--report_epochs=0,1,5", "--yardstick=direct"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(DOC) as f:
        doc = f.read()
    head, rest = doc.split(BEGIN)
    _, tail = rest.split(END)
    with open(DOC, "w") as f:
        f.write(head + BEGIN + "\n" + block(f"{DIR}/results.md") + END + tail)


if __name__ == "__main__":
    main()
