#!/usr/bin/env python3
"""compare_fp8: kpolicy's FP8 prefill path against cuBLAS FP16 and torch._scaled_mm.

Joins the reports of one device run of
    bench_prefill --out PREFILL.md          (kpolicy's paths, tools/bench/bench_prefill.cu)
    fp8_prefill_torch.py --out TORCH.md     (PyTorch, tools/bench/fp8_prefill_torch.py)
on (N, K, T) into one table, with the issue-12 targets:
  - FP8 path at >= 1.5x the speed of cuBLAS FP16 (FP16 path time / FP8 path time,
    both with their activation conversion; the GEMM-only ratio is shown beside);
  - FP8 path at >= 90% of torch._scaled_mm's speed with its activation
    quantisation (torch time / our time >= 0.9), both from FP32 activations to
    an --torch-out output (default float32, what our path writes).
Only the Python standard library; reads the results lists of the two files'
YAML front matter (one flow mapping per line, as both tools write them). Any
missing row, a device mismatch or an unreadable line exits 1.

Usage: compare_fp8.py PREFILL.md TORCH.md [--torch-out float32|bfloat16] [--out FILE] [--tokens 512,2048]
"""

import argparse
import re
import sys

PATH_TARGET = 1.5   # x cuBLAS FP16 (issue 12)
TORCH_TARGET = 0.9  # of torch._scaled_mm's speed (issue 12)
ENTRY = re.compile(r'\s*(\w+):\s*("([^"]*)"|[^,}]+)\s*(,|$)')


class CompareError(RuntimeError):
    pass


def parse_flow_map(text, where):
    """{key: value, key: "value"} -> dict of str/float; quoted values stay strings."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise CompareError("%s: not a flow mapping: %s" % (where, text))
    body, out, pos = text[1:-1], {}, 0
    while pos < len(body):
        m = ENTRY.match(body, pos)
        if not m:
            raise CompareError("%s: cannot read %r" % (where, body[pos:]))
        key, raw, quoted = m.group(1), m.group(2), m.group(3)
        if quoted is not None:
            out[key] = quoted
        else:
            try:
                out[key] = float(raw)
            except ValueError:
                out[key] = raw.strip()
        pos = m.end()
    return out


def read_report(path):
    """The front matter's scalar fields (top level and device:) and its results."""
    with open(path) as f:
        lines = f.read().split("\n")
    if not lines or lines[0] != "---":
        raise CompareError("%s: no YAML front matter" % path)
    try:
        end = lines.index("---", 1)
    except ValueError:
        raise CompareError("%s: the front matter does not end" % path)
    facts, results, section = {}, [], None
    for i, line in enumerate(lines[1:end], start=2):
        where = "%s:%d" % (path, i)
        if not line.startswith(" "):
            key, _, value = line.partition(":")
            section = key
            if value.strip():
                facts[key] = value.strip().strip('"')
        elif section == "results":
            if not line.strip().startswith("- "):
                raise CompareError("%s: a result is a '- {...}' line" % where)
            results.append(parse_flow_map(line.strip()[2:], where))
        elif section == "device":
            key, _, value = line.strip().partition(":")
            facts["device." + key] = value.strip().strip('"')
    if not results:
        raise CompareError("%s: no results" % path)
    return facts, results


def find(results, where, **want):
    rows = [r for r in results if all(r.get(k) == v for k, v in want.items())]
    if len(rows) != 1:
        raise CompareError("%s: %d rows match %s (want 1)" % (where, len(rows), want))
    return rows[0]


def verdict(value, target):
    return "MET" if value >= target else "MISSED"


def compare(prefill_path, torch_path, torch_out, tokens):
    pf, pr = read_report(prefill_path)
    tf, tr = read_report(torch_path)
    if pf.get("tool") != "bench_prefill" or tf.get("tool") != "fp8_prefill_torch":
        raise CompareError("expected a bench_prefill report, then a fp8_prefill_torch report")
    if pf.get("device.name") != tf.get("device.name"):
        raise CompareError("the reports are of different devices: %r and %r" % (pf.get("device.name"),
                                                                              tf.get("device.name")))
    shapes = sorted({(r["shape"], int(r["n"]), int(r["k"])) for r in pr if r["section"] == "prefill"},
                    key=lambda s: (s[1], s[2]))
    if not shapes:
        raise CompareError("%s: no prefill rows" % prefill_path)
    table = []
    for shape, n, k in shapes:
        for t in tokens:
            key = dict(section="prefill", n=float(n), k=float(k), m=float(t))
            ours = lambda v: find(pr, prefill_path, variant=v, **key)["us"]
            theirs = lambda v: find(tr, torch_path, variant=v, **key)["us"]
            row = {
                "shape": shape, "t": t,
                "fp8_path": ours("fp8_cublaslt path"), "fp8_gemm": ours("fp8_cublaslt gemm"),
                "fp8_quant": ours("fp8 activation quantisation"),
                "f16_path": ours("f16_cublas path"), "f16_gemm": ours("f16_cublas gemm"),
                "torch_f16": theirs("torch matmul f16"),
                "torch_fp8": theirs("torch _scaled_mm e4m3 -> %s" % torch_out),
                "torch_fp8_q": theirs("torch _scaled_mm e4m3 -> %s + quantise" % torch_out),
            }
            row["vs_f16_path"] = row["f16_path"] / row["fp8_path"]
            row["vs_f16_gemm"] = row["f16_gemm"] / row["fp8_gemm"]
            row["vs_torch_f16"] = row["torch_f16"] / row["fp8_path"]
            row["vs_torch"] = row["torch_fp8_q"] / row["fp8_path"]
            row["gemm_vs_torch"] = row["torch_fp8"] / row["fp8_gemm"]
            table.append(row)
    peaks = {r["variant"]: r for r in tr if r["section"] == "peak"}
    our_peak = [r for r in pr if r["section"] == "peak" and r["variant"] == "fp8_cublaslt"]
    return pf, tf, table, peaks, our_peak


def render(pf, tf, table, peaks, our_peak, torch_out, sources, command):
    out = ["---", "tool: compare_fp8", 'command: "%s"' % command, 'device: "%s"' % pf.get("device.name"),
           'bench_prefill: {file: "%s", date: "%s"}' % (sources[0], pf.get("date", "")),
           'fp8_prefill_torch: {file: "%s", date: "%s", torch: "%s", cuda: "%s"}' % (
               sources[1], tf.get("date", ""), tf.get("torch", ""), tf.get("cuda", "")),
           "targets: {fp8_path_vs_cublas_f16: %.2f, fp8_path_vs_torch_scaled_mm: %.2f}" % (PATH_TARGET, TORCH_TARGET),
           "rows:"]
    for r in table:
        out.append("  - {shape: \"%s\", t: %d, fp8_path_us: %.3f, vs_f16_path: %.4f, vs_torch: %.4f}" % (
            r["shape"], r["t"], r["fp8_path"], r["vs_f16_path"], r["vs_torch"]))
    out += ["---", "", "# kpolicy FP8 prefill vs cuBLAS FP16 and torch._scaled_mm on %s" % pf.get("device.name"), ""]
    out.append("Targets (issue 12): our FP8 path >= %.1fx cuBLAS FP16 (FP16 path time / FP8 path time, both with "
               "their activation conversion), and >= %d%% of torch._scaled_mm's speed with its activation "
               "quantisation (torch time / our time), both from FP32 activations, output %s. Times in us, "
               "L2 flushed before each call, median (kernel_timing.h's method in both tools)."
               % (PATH_TARGET, round(100 * TORCH_TARGET), torch_out))
    out += ["", "| shape | T | our FP8 path | our FP8 GEMM | our quantise | cuBLAS FP16 path | cuBLAS FP16 GEMM "
                "| torch FP16 | torch FP8 | torch FP8 + quantise | our/FP16 (path) | our/FP16 (GEMM) "
                "| our/torch FP16 | our/torch FP8 (path vs + quantise) | our/torch FP8 (GEMM) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        out.append("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2fx %s | %.2fx | %.2fx "
                   "| %.0f%% %s | %.0f%% |" % (
                       r["shape"], r["t"], r["fp8_path"], r["fp8_gemm"], r["fp8_quant"], r["f16_path"],
                       r["f16_gemm"], r["torch_f16"], r["torch_fp8"], r["torch_fp8_q"], r["vs_f16_path"],
                       verdict(r["vs_f16_path"], PATH_TARGET), r["vs_f16_gemm"], r["vs_torch_f16"],
                       100 * r["vs_torch"], verdict(r["vs_torch"], TORCH_TARGET), 100 * r["gemm_vs_torch"]))
    out.append("")
    out.append("Ratios are speeds: the other's time / ours (> 1: ours is faster).")
    lines = []
    for r in our_peak:
        lines.append("ours (cuBLASLt, %s) %.0f TFLOP/s" % (r["shape"], r["tflops"]))
    for name, r in sorted(peaks.items()):
        lines.append("%s (%s) %.0f TFLOP/s" % (name, r["shape"], r["tflops"]))
    out.append("Dense peaks: " + ("; ".join(lines) if lines else "none in the reports") + ".")
    met = sum(1 for r in table if r["vs_f16_path"] >= PATH_TARGET)
    met_t = sum(1 for r in table if r["vs_torch"] >= TORCH_TARGET)
    out.append("")
    out.append("Summary: >= %.1fx cuBLAS FP16 in %d of %d rows; >= %d%% of torch._scaled_mm in %d of %d rows."
               % (PATH_TARGET, met, len(table), round(100 * TORCH_TARGET), met_t, len(table)))
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefill", help="bench_prefill --out file")
    parser.add_argument("torch", help="fp8_prefill_torch.py --out file")
    parser.add_argument("--torch-out", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--tokens", default="512,2048")
    parser.add_argument("--out", help="also write the table here")
    args = parser.parse_args()
    command = " ".join(["compare_fp8.py"] + sys.argv[1:])
    try:
        tokens = [int(t) for t in args.tokens.split(",")]
        pf, tf, table, peaks, our_peak = compare(args.prefill, args.torch, args.torch_out, tokens)
        text = render(pf, tf, table, peaks, our_peak, args.torch_out, (args.prefill, args.torch), command)
    except (CompareError, OSError, ValueError, KeyError) as e:
        print("compare_fp8: error: %s" % e, file=sys.stderr)
        return 1
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
