#!/usr/bin/python3
"""Where a DeiT-S-size fit step's time goes: runs build/bench/fit_step_profile
(the fit step under LibTorch's profiler), groups each operator's own time per
step by what it does, and writes bench/results/fit_profile.csv (every
operator) and BENCHMARKS.md's section 10 (the groups, the matrix products'
rate against a square GEMM's in the same process, and the ceiling they set).

  bench/fit_profile.py [--depth=12 --width=384 --templates=16 --steps=5] [--print_only]
"""
import argparse
import csv
import datetime
import io
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doc_section  # noqa: E402
from cost_growth import cpu_name  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROFILE = os.path.join(ROOT, "build", "bench", "fit_step_profile")
RESULTS = os.path.join(ROOT, "bench", "results")
DOC = os.path.join(ROOT, "BENCHMARKS.md")
BEGIN, END = "## 10. Where a fit step's time goes", "<!-- fit_profile end -->"

MATMULS = {"mm", "addmm", "bmm"}
TARGET_OF_GEMM = 0.85  # the fit step's target share of the float32 GEMM rate
# Each operator's group, by its name without "aten::"; what no group names
# is "other".
GROUPS = {
    "matrix products": MATMULS,
    "softmax": {"_softmax", "_softmax_backward_data", "softmax"},
    "layer norm": {"native_layer_norm", "native_layer_norm_backward"},
    "GELU": {"gelu", "gelu_backward"},
    "patch embedding (convolution)": {"mkldnn_convolution", "convolution_backward",
                                      "mkldnn_convolution_backward", "_convolution"},
    "loss": {"log_softmax", "_log_softmax", "_log_softmax_backward_data", "nll_loss_forward",
             "nll_loss_backward", "nll_loss", "cross_entropy_loss"},
    "copies, views and fills": {
        "copy_", "clone", "contiguous", "cat", "stack", "_to_copy", "to", "empty", "empty_like",
        "empty_strided", "zeros", "zeros_like", "zero_", "fill_", "index", "index_select",
        "expand", "permute", "transpose", "reshape", "view", "_unsafe_view", "slice", "select",
        "unsqueeze", "squeeze", "narrow", "as_strided", "split", "split_with_sizes", "chunk",
        "t", "resolve_conj", "resolve_neg", "unbind", "detach", "alias", "unfold", "flatten",
        "_reshape_alias", "new_empty_strided", "ones_like", "set_"},
    "elementwise arithmetic (optimizer, residuals, scaling)": {
        "add", "add_", "mul", "mul_", "div", "div_", "sub", "sub_", "sqrt", "addcmul_",
        "addcdiv_", "lerp_", "exp", "neg", "pow", "rsqrt", "sum", "mean", "maximum", "_foreach_add_",
        "clamp", "clamp_min", "reciprocal", "sign", "abs"},
}


def group_of(name):
    base = name.split("::")[-1]
    for group, names in GROUPS.items():
        if base in names:
            return group
    return "other"


def run(args):
    out = subprocess.run([args.binary, f"--depth={args.depth}", f"--width={args.width}",
                          f"--templates={args.templates}", f"--steps={args.steps}"],
                         check=True, capture_output=True, text=True).stdout
    rows = list(csv.DictReader(io.StringIO(
        "\n".join(line for line in out.splitlines() if not line.startswith("#")))))
    notes = {}
    for line in out.splitlines():
        if line.startswith("# ") and len(line.split()) == 3:
            notes[line.split()[1]] = float(line.split()[2])
        elif line.startswith("# target"):
            notes["setup"] = line[2:]
    return rows, notes


def section(rows, notes, args, stamp):
    total = sum(float(r["ms_per_step"]) for r in rows)
    groups = {}
    for r in rows:
        g = groups.setdefault(group_of(r["op"]), [0.0, 0.0])
        g[0] += float(r["ms_per_step"])
        g[1] += float(r["gflop_per_step"])
    gemm_key = [k for k in notes if k.startswith("gemm_")][0]
    gemm_rate = notes[gemm_key]
    mm_ms, mm_gflop = groups.get("matrix products", [0.0, 0.0])
    mm_rate = mm_gflop / (mm_ms / 1e3) if mm_ms else 0.0
    step_ms = notes["step_ms_unprofiled"]
    model_gflop = notes["step_model_gflop"]
    lines = [BEGIN, "",
             f"`bench/fit_profile.py --depth={args.depth} --width={args.width} "
             f"--templates={args.templates} --steps={args.steps}` (run {stamp} UTC on "
             f"{cpu_name()}; {notes['setup']}; every operator in "
             "`bench/results/fit_profile.csv`): the fit step of section 2 in float32 under "
             "LibTorch's profiler, each operator's own time per step (its nested operators' "
             "taken out), grouped by what it does; the matrix products' FLOPs from their "
             "input shapes.", "",
             "| group | ms per step | share | GFLOP per step | GFLOP/s |", "|---|---|---|---|---|"]
    for name, (ms, gflop) in sorted(groups.items(), key=lambda kv: -kv[1][0]):
        rate = f"{gflop / (ms / 1e3):.1f}" if gflop else ""
        lines.append(f"| {name} | {ms:.1f} | {ms / total:.2f} | "
                     f"{gflop:.2f} | {rate} |" if gflop else
                     f"| {name} | {ms:.1f} | {ms / total:.2f} | | |")
    calls = sum(float(r["calls_per_step"]) for r in rows)
    rest = sorted((kv for kv in groups.items() if kv[0] != "matrix products"),
                  key=lambda kv: -kv[1][0])
    rest_named = ", ".join(f"{name} ({ms / total:.2f})" for name, (ms, _) in rest[:3])
    at_gemm_ms = mm_gflop / gemm_rate * 1e3  # the products at the square GEMM's rate
    target_ms = model_gflop / (TARGET_OF_GEMM * gemm_rate) * 1e3
    lines += [f"| all (profiled) | {total:.1f} | 1.00 | | |", "",
              f"- The step unprofiled: {step_ms:.1f} ms for the model's {model_gflop:.2f} GFLOP "
              f"(section 2's formula): {model_gflop / (step_ms / 1e3):.1f} GFLOP/s, "
              f"**{model_gflop / (step_ms / 1e3) / gemm_rate:.2f}** of the "
              f"{gemm_key.split('_')[1]}-square float32 GEMM's {gemm_rate:.1f} GFLOP/s in the "
              "same process.",
              f"- Under the profiler the step takes {total / step_ms:.2f}x as long "
              f"({calls:,.0f} operator calls per step, each recorded with its input shapes), "
              "so the milliseconds above are the profiled run's; the shares say where the time "
              f"goes, and the products' {mm_rate:.1f} GFLOP/s there is a lower bound of their "
              "rate.",
              f"- The ceiling: the products' {mm_gflop:.2f} GFLOP at the square GEMM's rate "
              f"take {at_gemm_ms:.0f} ms, {at_gemm_ms / step_ms:.2f} of the unprofiled step; "
              f"the other {step_ms - at_gemm_ms:.0f} ms are everything that is not a matrix "
              f"product (by the profile, most of all {rest_named}) and the products' shortfall "
              "on their own shapes. "
              f"{TARGET_OF_GEMM:.2f} of the GEMM rate needs a step of {target_ms:.0f} ms: that "
              f"rest cut to {target_ms - at_gemm_ms:.0f} ms.", ""]
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--depth", type=int, default=12)
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--templates", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--binary", default=PROFILE, help="the fit_step_profile to run")
    parser.add_argument("--print_only", action="store_true",
                        help="print the section; write neither the CSV nor BENCHMARKS.md")
    args = parser.parse_args()
    rows, notes = run(args)
    stamp = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M")
    if args.print_only:
        print("\n".join(section(rows, notes, args, stamp)))
        return 0
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "fit_profile.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["op", "group", "calls_per_step", "ms_per_step",
                                          "gflop_per_step"])
        w.writeheader()
        for r in sorted(rows, key=lambda r: -float(r["ms_per_step"])):
            w.writerow({**r, "group": group_of(r["op"])})
    lines = section(rows, notes, args, stamp)
    print("\n".join(lines))
    doc_section.splice(DOC, BEGIN, END, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
