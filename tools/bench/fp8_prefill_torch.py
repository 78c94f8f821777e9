#!/usr/bin/env python3
"""fp8_prefill_torch: PyTorch's FP8 and FP16 prefill GEMMs at Llama-3-8B shapes.

The reference that kpolicy's FP8 path (bench_prefill's "fp8_cublaslt" rows) is
measured against, timed the way bench_prefill times (kernels/include/kpolicy/
kernels/kernel_timing.h, the flushed-call method): before each call the L2 is
flushed by writing a buffer of 2x its size (outside the event pair); 3 warm-up
calls, then the median of --repeats calls, each timed with a CUDA event pair.

Rows, for N x K in {4096x4096, 14336x4096, 4096x14336} and T in {128, 512, 2048}
(activations x: T x K, weights w: N x K row-major, y = x w^T: T x N):
  f16 matmul       torch.matmul of FP16 x and w^T (cuBLAS), FP16 out
  fp8 quantise     the activations' per-tensor quantisation: amax, scale =
                   amax / 448 (1 when 0), x / scale cast to float8_e4m3fn
  fp8 scaled_mm    torch._scaled_mm(x8, w8^T, scale_a, scale_b, out_dtype) with
                   e4m3 weights (quantised once, per tensor) and activations
  fp8 scaled_mm + quantise
                   both in one timed call: what a prefill step pays
and the dense peaks: an 8192^3 torch._scaled_mm (FP8) and FP16 matmul.

torch._scaled_mm: b must be column-major (w8.t() of the row-major N x K codes:
the cuBLASLt "TN" layout), scales float32 tensors, every dimension a multiple
of 16. Its return is a tensor from torch 2.5 on and an (out, amax) tuple
before (the amax output was removed by pytorch/pytorch#128683); both are
accepted. Any failure exits nonzero and writes no report: a partial table is
never presented as complete.

Usage: fp8_prefill_torch.py [--out FILE] [--repeats N] [--act-dtype D]
                            [--out-dtypes D,D] [--quick]
  --act-dtype   the activations' dtype before quantisation (default float32:
                what kpolicy's FP8 path quantises; bfloat16/float16 also)
  --out-dtypes  _scaled_mm output dtypes (default bfloat16,float32: float32 is
                what kpolicy's path writes)
  --quick       T = 128 only, 5 repeats (a smoke run)
"""

import argparse
import ctypes
import datetime
import platform
import shutil
import statistics
import subprocess
import sys
import traceback

import torch

SHAPES = [("attn_q", 4096, 4096), ("ffn_up", 14336, 4096), ("ffn_down", 4096, 14336)]
TOKENS = [128, 512, 2048]
PEAK = 8192
WARMUPS = 3  # kernel_timing.h's kTimingWarmups
E4M3_MAX = 448.0
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class BenchError(RuntimeError):
    pass


def driver_facts():
    """The CUDA driver API version (cuDriverGetVersion, bench_prefill's
    driver_version) and the kernel driver's version from nvidia-smi."""
    api = "unknown"
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
        version = ctypes.c_int(0)
        if libcuda.cuDriverGetVersion(ctypes.byref(version)) == 0:
            api = str(version.value)
    except OSError as e:
        api = "unknown (%s)" % e
    smi = shutil.which("nvidia-smi")
    kernel = "unknown (nvidia-smi not found)"
    if smi:
        out = subprocess.run([smi, "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, check=False)
        kernel = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else \
            "unknown (nvidia-smi exit %d)" % out.returncode
    return api, kernel


class FlushedTimer:
    """kernel_timing.h's flushed-call method on torch's current stream."""

    def __init__(self, repeats, l2_bytes):
        self.repeats = repeats
        self.flush = torch.empty(2 * max(l2_bytes, 1 << 20), dtype=torch.uint8, device="cuda")
        self.start = torch.cuda.Event(enable_timing=True)
        self.stop = torch.cuda.Event(enable_timing=True)

    def median_us(self, fn):
        times = []
        for i in range(WARMUPS + self.repeats):
            self.flush.fill_(i & 0xFF)  # a different byte each time, outside the events
            self.start.record()
            fn()
            self.stop.record()
            self.stop.synchronize()
            if i >= WARMUPS:
                times.append(1000.0 * self.start.elapsed_time(self.stop))
        return statistics.median(times)


def quantise_e4m3(x):
    """Per-tensor E4M3: (codes, scale) with scale = amax / 448 (1 when amax is 0), as
    kpolicy's QuantizeFp8PerTensor. Saturates: x / scale is within +-448 by construction."""
    amax = x.abs().amax().float()
    scale = torch.where(amax > 0, amax / E4M3_MAX, torch.ones_like(amax))
    codes = (x.float() / scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)
    return codes, scale.reshape(())


def scaled_mm(a, b, scale_a, scale_b, out_dtype):
    out = torch._scaled_mm(a, b, scale_a=scale_a, scale_b=scale_b, out_dtype=out_dtype)
    if isinstance(out, tuple):  # torch <= 2.4: (out, amax)
        out = out[0]
    if not isinstance(out, torch.Tensor) or out.dtype != out_dtype:
        raise BenchError("torch._scaled_mm returned %r, not a %s tensor" % (type(out), out_dtype))
    return out


def tflops(m, n, k, us):
    return 2.0 * m * n * k / (us * 1e6)


def check_close(got, want, what):
    """The FP8 product must compute the product: relative L2 error against the
    FP32 product of the dequantised operands (the same rounded inputs) under 1%
    (FP32 accumulation over K <= 14336 terms is ~1e-5; the output rounding of
    bf16 is 2^-8 = 0.4%)."""
    err = (got.float() - want).norm() / want.norm().clamp_min(1e-30)
    if not torch.isfinite(err) or err.item() > 1e-2:
        raise BenchError("%s: relative L2 error %.3g against the FP32 product (> 1e-2)" % (what, err.item()))


def run(args):
    if not torch.cuda.is_available():
        raise BenchError("no CUDA device visible to torch")
    if not hasattr(torch, "_scaled_mm") or not hasattr(torch, "float8_e4m3fn"):
        raise BenchError("torch %s has no torch._scaled_mm / float8_e4m3fn" % torch.__version__)
    props = torch.cuda.get_device_properties(0)
    if (props.major, props.minor) < (8, 9):
        raise BenchError("FP8 needs compute capability 8.9+, this device is %d.%d" % (props.major, props.minor))
    l2_bytes = getattr(props, "L2_cache_size", 0)
    if l2_bytes <= 0:
        raise BenchError("torch does not report the L2 size (L2_cache_size), so the flush cannot be sized")
    act_dtype = DTYPES[args.act_dtype]
    out_dtypes = []
    for name in args.out_dtypes.split(","):
        if name not in ("bfloat16", "float16", "float32"):
            raise BenchError("--out-dtypes: %r is not bfloat16, float16 or float32" % name)
        out_dtypes.append(name)
    repeats = 5 if args.quick else args.repeats
    tokens = [128] if args.quick else TOKENS
    timer = FlushedTimer(repeats, l2_bytes)
    gen = torch.Generator(device="cuda")
    gen.manual_seed(12)
    rows = []

    def add(section, shape, n, k, m, variant, us, flops):
        rows.append({"section": section, "shape": shape, "n": n, "k": k, "m": m, "variant": variant,
                     "us": us, "tflops": flops})
        print("%-8s %-20s %5d %-34s %10.2f %9.2f" % (section, shape, m, variant, us, flops), flush=True)

    print("%-8s %-20s %5s %-34s %10s %9s" % ("section", "shape", "T", "variant", "us", "TFLOP/s"))
    # ---- Peaks: 8192^3 ----
    a8 = torch.randn(PEAK, PEAK, device="cuda", generator=gen).to(torch.float8_e4m3fn)
    b8 = torch.randn(PEAK, PEAK, device="cuda", generator=gen).to(torch.float8_e4m3fn)
    one = torch.ones((), device="cuda", dtype=torch.float32)
    cube = "%dx%dx%d" % (PEAK, PEAK, PEAK)
    peak_dtype = DTYPES[out_dtypes[0]]
    us = timer.median_us(lambda: scaled_mm(a8, b8.t(), one, one, peak_dtype))
    add("peak", cube, PEAK, PEAK, PEAK, "torch _scaled_mm e4m3 -> %s" % out_dtypes[0], us, tflops(PEAK, PEAK, PEAK, us))
    del a8, b8
    a16 = torch.randn(PEAK, PEAK, device="cuda", generator=gen, dtype=torch.float16)
    b16 = torch.randn(PEAK, PEAK, device="cuda", generator=gen, dtype=torch.float16)
    us = timer.median_us(lambda: torch.matmul(a16, b16.t()))
    add("peak", cube, PEAK, PEAK, PEAK, "torch matmul f16", us, tflops(PEAK, PEAK, PEAK, us))
    del a16, b16

    # ---- Prefill ----
    for tensor, n, k in SHAPES:
        shape = "%s %dx%d" % (tensor, n, k)
        w = torch.randn(n, k, device="cuda", generator=gen) * 0.02
        w8, w_scale = quantise_e4m3(w)
        w16 = w.to(torch.float16)
        for t in tokens:
            x = torch.randn(t, k, device="cuda", generator=gen).to(act_dtype)
            x16 = x.to(torch.float16)
            us = timer.median_us(lambda: torch.matmul(x16, w16.t()))
            add("prefill", shape, n, k, t, "torch matmul f16", us, tflops(t, n, k, us))
            us = timer.median_us(lambda: quantise_e4m3(x))
            add("prefill", shape, n, k, t, "torch fp8 quantise (%s in)" % args.act_dtype, us, 0.0)
            x8, x_scale = quantise_e4m3(x)
            want = (x8.float() * x_scale) @ (w8.float() * w_scale).t()
            for name in out_dtypes:
                od = DTYPES[name]
                check_close(scaled_mm(x8, w8.t(), x_scale, w_scale, od), want, "%s T=%d -> %s" % (shape, t, name))
                us = timer.median_us(lambda: scaled_mm(x8, w8.t(), x_scale, w_scale, od))
                add("prefill", shape, n, k, t, "torch _scaled_mm e4m3 -> %s" % name, us, tflops(t, n, k, us))

                def both():
                    codes, s = quantise_e4m3(x)
                    return scaled_mm(codes, w8.t(), s, w_scale, od)

                us = timer.median_us(both)
                add("prefill", shape, n, k, t, "torch _scaled_mm e4m3 -> %s + quantise" % name, us, tflops(t, n, k, us))
            del x, x16, x8, want
        del w, w8, w16
    torch.cuda.synchronize()
    return rows, props, l2_bytes, repeats


def write_report(path, rows, props, l2_bytes, repeats, command):
    api, kernel = driver_facts()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = ["---", "tool: fp8_prefill_torch", 'command: "%s"' % command.replace('"', "'"), "date: %s" % date,
             "device:", '  name: "%s"' % props.name, "  cc: %d%d" % (props.major, props.minor),
             "  sms: %d" % props.multi_processor_count, "  l2_bytes: %d" % l2_bytes,
             "  driver_version: %s" % api, '  driver: "%s"' % kernel,
             'torch: "%s"' % torch.__version__, 'cuda: "%s"' % torch.version.cuda,
             'python: "%s"' % platform.python_version(),
             'method: "L2 flushed (a write over 2x L2) before each call, %d warm-up calls, median of %d calls '
             'timed with CUDA events (as kernel_timing.h)"' % (WARMUPS, repeats),
             "results:"]
    for r in rows:
        lines.append('  - {section: %s, shape: "%s", n: %d, k: %d, m: %d, variant: "%s", us: %.3f, tflops: %.3f}'
                     % (r["section"], r["shape"], r["n"], r["k"], r["m"], r["variant"], r["us"], r["tflops"]))
    lines += ["---", "", "# fp8_prefill_torch on %s" % props.name, "",
              "torch %s, CUDA %s. T = tokens (rows of x); TFLOP/s = 2 T N K / time." % (torch.__version__,
                                                                                   torch.version.cuda), "",
              "| section | shape | T | variant | us | TFLOP/s |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %s | %d | %s | %.2f | %.2f |" % (r["section"], r["shape"], r["m"], r["variant"], r["us"],
                                                             r["tflops"]))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write YAML front matter + a markdown table here")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--act-dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--out-dtypes", default="bfloat16,float32")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.repeats < 3:
        parser.error("--repeats must be >= 3")
    command = " ".join(["fp8_prefill_torch.py"] + sys.argv[1:])
    try:
        rows, props, l2_bytes, repeats = run(args)
        if args.out:
            write_report(args.out, rows, props, l2_bytes, repeats, command)
            print("wrote %s" % args.out)
    except Exception as e:  # any failure: nonzero exit, no report
        traceback.print_exc()
        print("fp8_prefill_torch: error: %s: %s (INCOMPLETE: no report written)" % (type(e).__name__, e),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
