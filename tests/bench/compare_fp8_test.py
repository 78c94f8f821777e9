#!/usr/bin/env python3
"""compare_fp8.py on small reports written in bench_prefill's and
fp8_prefill_torch.py's --out formats (the result lines as their printf
formats write them). Usage: compare_fp8_test.py PATH/TO/compare_fp8.py"""

import os
import subprocess
import sys
import tempfile
import unittest

COMPARE = None

PREFILL = """---
tool: bench_prefill
command: "bench_prefill --out x.md"
date: 2026-12-03T10:00:00Z
device:
  name: "NVIDIA H200"
  cc: 90
  sms: 132
  l2_bytes: 62914560
  driver_version: 13000
  runtime_version: 13000
method: "L2 flushed"
peaks:
  fp8_cublaslt_tflops: 1300.0
  fp8_cublaslt_dims: "8192x8192x8192"
  f16_cublas_8192_tflops: 750.0
fp8_peak_probes:
  - {call: "8192x8192x8192, each scale in its own allocation (the path's call)", outcome: "runs"}
results:
  - {section: peak, shape: "8192x8192x8192", n: 8192, k: 8192, m: 8192, variant: "fp8_cublaslt", us: 845.000, tflops: 1301.000, ratio: 1.0000}
  - {section: prefill, shape: "attn_q 4096x4096", n: 4096, k: 4096, m: 512, variant: "f16_cublas path", us: 40.000, tflops: 430.000, ratio: 1.0000}
  - {section: prefill, shape: "attn_q 4096x4096", n: 4096, k: 4096, m: 512, variant: "f16_cublas gemm", us: 33.000, tflops: 520.000, ratio: 1.0000}
  - {section: prefill, shape: "attn_q 4096x4096", n: 4096, k: 4096, m: 512, variant: "fp8_cublaslt path", us: 20.000, tflops: 850.000, ratio: 2.0000}
  - {section: prefill, shape: "attn_q 4096x4096", n: 4096, k: 4096, m: 512, variant: "fp8_cublaslt gemm", us: 15.000, tflops: 1100.000, ratio: 2.2000}
  - {section: prefill, shape: "attn_q 4096x4096", n: 4096, k: 4096, m: 512, variant: "fp8 activation quantisation", us: 5.000, tflops: 0.000, ratio: 0.2500}
  - {section: decode, shape: "attn_q 4096x4096", n: 4096, k: 4096, m: 2, variant: "fp8_cublaslt path", us: 18.000, tflops: 3.500, ratio: 0.8000}
---

# bench_prefill on NVIDIA H200
"""

TORCH = """---
tool: fp8_prefill_torch
command: "fp8_prefill_torch.py --out t.md"
date: 2026-12-03T10:05:00Z
device:
  name: "NVIDIA H200"
  cc: 90
  sms: 132
  l2_bytes: 62914560
  driver_version: 13000
  driver: "580.159.04"
torch: "2.6.0+cu126"
cuda: "12.6"
python: "3.11.9"
method: "L2 flushed"
results:
  - {section: peak, shape: "8192x8192x8192", n: 8192, k: 8192, m: 8192, variant: "torch _scaled_mm e4m3 -> bfloat16", us: 800.000, tflops: 1374.000}
  - {section: prefill, shape: "attn_q 4096x4096", n: 4096, k: 4096, m: 512, variant: "torch matmul f16", us: 30.000, tflops: 572.000}
  - {section: prefill, shape: "attn_q 4096x4096", n: 4096, k: 4096, m: 512, variant: "torch fp8 quantise (float32 in)", us: 9.000, tflops: 0.000}
  - {section: prefill, shape: "attn_q 4096x4096", n: 4096, k: 4096, m: 512, variant: "torch _scaled_mm e4m3 -> float32", us: 16.000, tflops: 1070.000}
  - {section: prefill, shape: "attn_q 4096x4096", n: 4096, k: 4096, m: 512, variant: "torch _scaled_mm e4m3 -> float32 + quantise", us: 17.000, tflops: 1010.000}
---
"""


def run(*args):
    return subprocess.run([sys.executable, COMPARE, *args], capture_output=True, text=True)


class CompareFp8Test(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_ratios_and_verdicts(self):
        out = self.write("cmp.md", "")
        r = run(self.write("p.md", PREFILL), self.write("t.md", TORCH), "--tokens", "512", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        # our/FP16 path = 40 / 20 = 2.00x (>= 1.5: MET); GEMM 33 / 15 = 2.20x;
        # our/torch FP8 = 17 / 20 = 85% (< 90%: MISSED); GEMM 16 / 15 = 107%.
        self.assertIn("| attn_q 4096x4096 | 512 | 20.00 | 15.00 | 5.00 | 40.00 | 33.00 | 30.00 | 16.00 | 17.00 "
                      "| 2.00x MET | 2.20x | 1.50x | 85% MISSED | 107% |", r.stdout)
        self.assertIn(">= 1.5x cuBLAS FP16 in 1 of 1 rows; >= 90% of torch._scaled_mm in 0 of 1 rows", r.stdout)
        with open(out) as f:
            self.assertEqual(f.read(), r.stdout)

    def test_a_missing_row_fails(self):
        r = run(self.write("p.md", PREFILL), self.write("t.md", TORCH), "--tokens", "512,2048")
        self.assertEqual(r.returncode, 1)
        self.assertIn("0 rows match", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_the_other_output_dtype_must_be_there(self):
        r = run(self.write("p.md", PREFILL), self.write("t.md", TORCH), "--tokens", "512", "--torch-out", "bfloat16")
        self.assertEqual(r.returncode, 1)
        self.assertIn("torch _scaled_mm e4m3 -> bfloat16", r.stderr)

    def test_different_devices_fail(self):
        other = TORCH.replace('name: "NVIDIA H200"', 'name: "NVIDIA H100 80GB HBM3"')
        r = run(self.write("p.md", PREFILL), self.write("t.md", other), "--tokens", "512")
        self.assertEqual(r.returncode, 1)
        self.assertIn("different devices", r.stderr)

    def test_an_unreadable_result_line_fails(self):
        bad = PREFILL.replace('variant: "fp8_cublaslt gemm", us: 15.000', 'variant: "fp8_cublaslt gemm" us 15')
        r = run(self.write("p.md", bad), self.write("t.md", TORCH), "--tokens", "512")
        self.assertEqual(r.returncode, 1)
        self.assertIn("p.md:", r.stderr)


if __name__ == "__main__":
    COMPARE = sys.argv.pop(1)
    unittest.main()
